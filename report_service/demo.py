"""``frankly demo``: the whole flow on one machine, in one command, in seconds.

1. create the service's keys and start it on SQLite (uvicorn on a loopback port);
2. add users alice and bob, and bank a demo picture's PDQ hash in a signed hash list;
3. alice sends bob a near-copy of that picture through the relay (franked, stamped);
4. bob's client verifies the delivery, scans the picture on the device against the
   signed list (match warning), and bob reports it;
5. the service verifies the report, re-hashes the picture, matches its banks and queues
   a review item, which is printed; then the service stops.

Only loopback networking; the data folder is temporary unless one is given. A given folder
must be empty (or missing) or one an earlier demo made (it holds :data:`DEMO_MARKER`):
the demo resets alice's and bob's tokens and banks a picture, so it never runs on a
folder that holds anything of its own, nor on the database or key file the environment
names (``FRANKLY_DATABASE_URL``, ``FRANKLY_KEY_FILE`` are ignored).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

DEMO_CATEGORY = "demo_known_abuse"
DEMO_ENTRY_ID = "demo-0001"
CONVERSATION = "alice-bob"
DEMO_MARKER = ".frankly-demo"
"""The file that marks a folder as made by the demo."""
EXIT_REFUSED = 2


class NotADemoFolder(Exception):
    """The folder holds files the demo did not make."""


def claim_demo_folder(folder: Path) -> None:
    """Make ``folder`` the demo's: create it with the marker, or accept it when it is
    empty or marked already.

    Raises:
        NotADemoFolder: the folder holds anything else (or is not a folder).
    """
    if folder.exists() and not folder.is_dir():
        raise NotADemoFolder(f"{folder} is not a folder")
    marker = folder / DEMO_MARKER
    if folder.is_dir() and not marker.exists():
        own = sorted(p.name for p in folder.iterdir())
        if own:
            shown = ", ".join(own[:5]) + (", ..." if len(own) > 5 else "")
            raise NotADemoFolder(
                f"{folder} holds files of its own ({shown}); the demo replaces alice's and "
                "bob's tokens and adds to the hash bank, so it runs only in an empty folder "
                "or one an earlier demo made. Run `frankly demo` without --data (a temporary "
                "folder) or give a new folder"
            )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not marker.exists():
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("made by `frankly demo`; safe to delete with its folder\n")


def demo_image(size: int = 512) -> bytes:
    """A deterministic, detailed demo picture (JPEG) with plenty of structure for PDQ."""
    import numpy as np
    from PIL import Image, ImageDraw

    y, x = np.mgrid[0:size, 0:size]
    rgb = np.stack([(x * 255) // size, (y * 255) // size, ((x ^ y) * 7) % 256], axis=-1)
    image = Image.fromarray(rgb.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for i in range(12):
        r = 20 + 9 * i
        cx, cy = (37 * i * 7) % size, (53 * i * 5) % size
        draw.ellipse(
            (cx - r, cy - r, cx + r, cy + r), outline=(255 - 20 * i, 40 * i % 256, 90), width=6
        )
    draw.rectangle((size // 4, size // 3, size // 2, size // 2), fill=(250, 250, 30))
    draw.text((size // 8, size - 60), "FRANKLY DEMO", fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def near_copy(data: bytes) -> bytes:
    """The picture as a re-sender would pass it on: resized and recompressed."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((image.width * 7 // 8, image.height * 7 // 8))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def iso_utc(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 in UTC."""
    from report_service._cli_service import iso_utc as fmt

    return fmt(ms)


def _ensure_user(sessions: Any, name: str, now_ms: int) -> str:
    from report_service.errors import Conflict
    from report_service.storage.users import add_user, reset_token
    from report_service.tokens import hash_token, new_token

    token = new_token()
    with sessions() as session:
        try:
            add_user(session, name, hash_token(token), now_ms)
        except Conflict:
            reset_token(session, name, hash_token(token))
    return token


def _show_forgeries(console: Any, client: Any, report: Any, pinned: Any) -> bool:
    """Submit tampered copies of bob's report; print the service's refusal codes.

    Returns whether every forgery was refused with the code the design names.
    """
    import dataclasses
    import uuid

    from rich.table import Table

    from client_scan.errors import ReportRejected
    from client_scan.franking.payload import encode_payload, parse_payload
    from client_scan.report_builder import seal

    honest = report.messages[0]
    opened = parse_payload(honest.payload)
    forged_text = encode_payload("have a nice day", opened.attachments, payload_id=opened.id)
    forgeries = {
        "bob rewrites alice's text": (
            dataclasses.replace(honest, payload=forged_text.raw),
            "commitment_mismatch",
        ),
        "bob blames carol instead of alice": (
            dataclasses.replace(honest, sender_id="carol"),
            "stamp_invalid",
        ),
        "bob shifts its time by 1 ms": (
            dataclasses.replace(honest, timestamp_ms=honest.timestamp_ms - 1),
            "stamp_invalid",
        ),
    }
    table = Table(title="8. tampered reports the service refuses (nothing stored)")
    table.add_column("what was changed")
    table.add_column("answer", style="bold")
    all_refused = True
    for what, (message, expected) in forgeries.items():
        forged = dataclasses.replace(
            report, report_id=str(uuid.uuid4()), messages=(message, *report.messages[1:])
        )
        try:
            client.submit_report(seal(forged, pinned).sealed)
            answer, refused = "[red]accepted!", False
        except ReportRejected as exc:
            answer = f"{exc.status} {exc.code} (message {exc.message_index})"
            refused = exc.code == expected
        all_refused = all_refused and refused
        table.add_row(what, answer if refused else f"[red]{answer}, expected {expected}")
    console.print(table)
    return all_refused


def run(data_dir: Path | None) -> int:
    """Run the demo; return the exit status (0 when every step did what it should, 2 when
    the folder given is not the demo's, 1 when a step failed)."""
    import sys

    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="frankly-")))
        try:
            claim_demo_folder(Path(data_dir))
        except (NotADemoFolder, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        return _run(Path(data_dir))
    return 1  # pragma: no cover - ExitStack does not swallow exceptions


def _show_webhooks(console: Any, webhooks: Any) -> bool:
    """One delivery pass; print what the receiver verified."""
    types = [e["type"] for e in webhooks.deliver()]
    console.print(
        f"8. the webhook receiver verified {len(types)} signed event(s): "
        f"{', '.join(types) or 'none'} (Standard Webhooks, HMAC-SHA256)"
    )
    return "report.created" in types and webhooks.refused == 0


def _run(data_dir: Path) -> int:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table
    from sqlalchemy import select

    from client_scan.franking.payload import parse_payload
    from client_scan.messaging import Attachment, Messenger
    from client_scan.pinning import fetch_and_pin
    from client_scan.records import MemoryRecordStore
    from client_scan.report_builder import compose_report, seal
    from client_scan.report_format import Reason
    from client_scan.scanner import Scanner
    from client_scan.service_client import ServiceClient
    from hashes.lists import TrustPolicy
    from hashes.values import Algorithm, HashValue
    from report_service.app import create_app, wall_clock_ms
    from report_service.banks import hash_media
    from report_service.escalation.webhooks.demo_receiver import DemoWebhooks
    from report_service.keys import generate_key_material, load_key_file, save_key_file
    from report_service.server import BackgroundServer
    from report_service.settings import Settings
    from report_service.storage.evidence import read_evidence
    from report_service.storage.models import BankMatch, Media, ReportItem, ReviewItem

    console = Console()
    started = time.perf_counter()
    console.rule("[bold]Frankly demo: franked message -> device scan -> verified report")

    key_file = data_dir / "keys.json"
    if not key_file.exists():
        save_key_file(key_file, generate_key_material(os.urandom, wall_clock_ms()))
    material = load_key_file(key_file)
    settings = Settings(
        environment="development", data_dir=data_dir, database_url=None, key_file=None
    )
    app = create_app(settings)
    sessions = app.state.session_factory
    console.print(
        f"1. service keys in {key_file} (0600); database {settings.resolved_database_url}"
    )

    tokens = {name: _ensure_user(sessions, name, wall_clock_ms()) for name in ("alice", "bob")}
    console.print("2. users alice and bob added (tokens stored only as SHA-256)")

    original = demo_image()
    facts, _ = hash_media(original, "image/jpeg")
    if facts.pdq is None:
        console.print("[red]the demo picture could not be hashed")
        return 1
    banks = app.state.banks
    value = HashValue.from_hex(Algorithm.PDQ, facts.pdq)
    known = [h for h in banks.match([value]) if h.entry_id == DEMO_ENTRY_ID]
    if known:  # a second run on the same folder: the picture is banked already
        header = banks.lists[known[0].list_id].header
    else:
        header = banks.add_entry(value, DEMO_CATEGORY, DEMO_ENTRY_ID, wall_clock_ms())
    list_bytes = banks.export(header.list_id)
    console.print(
        f"3. curator banked the demo picture's PDQ {facts.pdq[:16]}… in signed list "
        f"{header.list_id!r} v{header.version} ({len(list_bytes)} bytes, Ed25519)"
    )

    ok = True
    webhooks = DemoWebhooks(app)
    with BackgroundServer(webhooks.receiver.app()) as receiver_url, BackgroundServer(app) as url:
        webhooks.add_endpoint(receiver_url)
        console.print(f"4. service listening on {url}; a webhook receiver on {receiver_url}")
        session_key = os.urandom(32)  # stands in for alice and bob's E2EE session
        alice_store, bob_store = MemoryRecordStore(), MemoryRecordStore()
        with (
            ServiceClient(url, tokens["alice"]) as alice_http,
            ServiceClient(url, tokens["bob"]) as bob_http,
        ):
            alice = Messenger("alice", alice_http, alice_store)
            bob = Messenger("bob", bob_http, bob_store)
            picture = near_copy(original)
            sent = alice.send(
                session_key,
                "bob",
                CONVERSATION,
                "you will regret this",
                [Attachment(picture, "image/jpeg", "a0")],
            )
            console.print(
                f"5. alice -> relay: commitment {sent.message.commitment.hex()[:16]}…, stamped "
                f"with {sent.message.key_id} at {iso_utc(sent.message.timestamp_ms)}"
            )
            received = bob.receive(lambda _delivery: session_key)
            if len(received.accepted) != 1 or received.rejected:
                console.print("[red]bob did not receive exactly one valid message")
                return 1
            record = received.accepted[0]
            bob.accept_attachment(record.id, "a0", picture)
            console.print("6. bob's client opened the envelope, checked c and the picture's digest")

            curator = material.curator
            scanner = Scanner(TrustPolicy(curator_keys={curator.kid: curator.public_key}))
            scanner.load_list(list_bytes)
            scan = scanner.scan(picture)
            if scan.matched:
                m = scan.matches[0]
                console.print(
                    Panel(
                        f"This picture matches a known-abuse hash list ({m.list_id} "
                        f"v{m.list_version}, category {m.category}, distance {m.distance}).\n"
                        "Nothing was sent anywhere. You can report it.",
                        title="[yellow]On-device warning",
                        expand=False,
                    )
                )
            else:
                console.print("[red]the on-device scan did not match")
                ok = False

            pinned = fetch_and_pin(bob_http, bob_store)
            report = compose_report(
                bob_store,
                [record.id],
                reporter_id="bob",
                reason=Reason.HARASSMENT,
                comment="alice keeps sending me this picture",
                include_attachments=[scan.sha256],
                device_matches=scan.hints(),
            )
            sealed = seal(report, pinned)
            first = bob_http.submit_report(sealed.sealed)
            again = bob_http.submit_report(sealed.sealed)
            status = bob_http.report_status(report.report_id)
            console.print(
                f"7. bob sealed the report to {pinned.key_id} and submitted it: "
                f"{'201 created' if first.created else '200'} -> {first.status}; "
                f"sent again: {'201' if again.created else '200 (same answer, stored once)'}; "
                f"status: {status.status}"
            )
            ok = ok and first.created and not again.created
            ok = _show_forgeries(console, bob_http, report, pinned) and ok
            ok = _show_webhooks(console, webhooks) and ok

    with sessions() as session:
        item = session.scalars(
            select(ReviewItem)
            .join(ReportItem, ReportItem.item_id == ReviewItem.id)
            .where(ReportItem.report_id == report.report_id)
        ).one()
        media = session.scalars(select(Media).where(Media.report_id == report.report_id)).all()
        matches = session.scalars(
            select(BankMatch).where(BankMatch.report_id == report.report_id)
        ).all()
        evidence = json.loads(
            read_evidence(session, app.state.keys, report.report_id, "message", "0")
        )
        import base64

        body = parse_payload(base64.b64decode(evidence["payload"])).body
        comment = read_evidence(session, app.state.keys, report.report_id, "comment").decode()

    table = Table(title=f"Review item #{item.id} (queue {item.queue}, priority {item.priority})")
    table.add_column("verified fact")
    table.add_column("value", overflow="fold")
    table.add_row("sender", item.sender_id)
    table.add_row("conversation", item.conversation_id)
    table.add_row("commitment", item.commitment)
    table.add_row("reason (first report)", item.reason)
    table.add_row("reporters", str(item.reporter_count))
    table.add_row("message text (decrypted evidence)", body)
    for m in media:
        table.add_row("attachment", f"{m.mime}, {m.size} bytes, sha256 {m.sha256[:16]}…")
        table.add_row("service PDQ (quality)", f"{m.pdq} ({m.pdq_quality})")
    for b in matches:
        table.add_row(
            "bank match",
            f"{b.list_id} v{b.list_version} {b.algorithm} category {b.category} "
            f"distance {b.distance} severity {b.severity}",
        )
    table.add_row("[dim]reporter's words (unverified)", f"[dim]{comment}")
    console.print(table)
    if not matches:
        console.print("[red]the service did not match the picture against its bank")
        ok = False
    app.state.engine.dispose()
    elapsed = time.perf_counter() - started
    verdict = "[green]demo complete" if ok else "[red]demo finished with problems"
    console.rule(f"{verdict} in {elapsed:.1f} s; the service has stopped")
    console.print(console_hint(data_dir), soft_wrap=True, highlight=False, markup=False)
    return 0 if ok else 1


def console_hint(data_dir: Path) -> str:
    """How to open the moderator console on the demo's data (a temporary folder is gone
    when the demo ends, so then the first step is a demo run into a folder that stays)."""
    temporary = data_dir.name.startswith("frankly-") and data_dir.parent == Path(
        tempfile.gettempdir()
    )
    folder = "./frankly-demo" if temporary else str(data_dir)
    first = f"  frankly demo --data {folder}\n" if temporary else ""
    return (
        "Open the moderator console on the demo's data:\n"
        f"{first}"
        f"  frankly moderators add mia --role moderator --data {folder}   # prints mia's token\n"
        f"  frankly serve --data {folder} --port 8000\n"
        "  then open http://127.0.0.1:8000/console/ and sign in with that token"
    )
