"""``frankly ncmec demo`` (``make demo-escalation``): a confirmed child-safety case taken
the whole way out.

On a temporary SQLite folder, with a local stand-in for NCMEC's test service
(:mod:`.local_server`) and a webhook receiver that verifies signatures, both on loopback
ports:

1. bob sends alice a picture and a message through the relay (franked and stamped);
2. alice reports it as child safety (sealed, verified by the service);
3. casey (``child_safety``) claims it, reveals the original and decides it under policy
   ``csam``: the service records a DSA statement of reasons and prepares a CyberTipline
   report; nothing reaches the stand-in yet;
4. dana (``safety_lead``) approves it over the API;
5. the service's submitter (the thread ``frankly serve`` runs) files it: submit, upload,
   file details, finish; the stand-in validates every document against the schema;
6. the checks: the preservation hold the submission placed (source ``ncmec``, NCMEC's
   report id, at least 365 days), the statement of reasons (printed: no personal data),
   the reporter's notice, and the signed events the receiver verified.

Nothing leaves the machine. Exit status 0 when every step did what it should.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any


def run() -> int:
    """Run the demo in a temporary folder; the exit status."""
    with tempfile.TemporaryDirectory(prefix="frankly-ncmec-") as tmp:
        return _run(Path(tmp))


DAY_MS = 86_400_000
REQUIRED_EVENTS = ("report.created", "item.claimed", "item.decided", "ncmec.submitted")
MESSAGE_TEXT = "don't tell your parents"


def _run(data_dir: Path) -> int:
    import hashlib

    import httpx
    from lxml import etree
    from rich.console import Console

    from client_scan.messaging import Attachment, Messenger
    from client_scan.pinning import fetch_and_pin
    from client_scan.records import MemoryRecordStore
    from client_scan.report_builder import compose_report, seal
    from client_scan.report_format import Reason
    from client_scan.service_client import ServiceClient
    from report_service.app import create_app, start_ncmec_submitter, wall_clock_ms
    from report_service.demo import _ensure_user, demo_image
    from report_service.escalation.ncmec.local_server import PASSWORD, USER, CyberTipServer
    from report_service.escalation.webhooks.demo_receiver import DemoWebhooks
    from report_service.keys import generate_key_material, save_key_file
    from report_service.review.media.evidence_access import MasterKeyEvidence
    from report_service.server import BackgroundServer
    from report_service.settings import Settings

    console = Console()
    started = time.perf_counter()
    console.rule("[bold]Frankly demo: confirmed child-safety case -> escalation out")
    cybertip = CyberTipServer()
    password_file = data_dir / "ncmec-password"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(PASSWORD + "\n")
    save_key_file(data_dir / "keys.json", generate_key_material(os.urandom, wall_clock_ms()))
    problems: list[str] = []
    with BackgroundServer(cybertip.app()) as tip_url:
        settings = Settings(
            environment="development",
            data_dir=data_dir,
            ncmec_url=tip_url + "/ispws",
            ncmec_username=USER,
            ncmec_password_file=password_file,
            ncmec_reporter_email="tips@example.org",
            ncmec_legal_url="https://example.org/legal-process",
            ncmec_submit_interval_s=0.2,
        )
        app = create_app(settings)
        sessions = app.state.session_factory
        tokens = {n: _ensure_user(sessions, n, wall_clock_ms()) for n in ("alice", "bob")}
        review = app.state.review
        casey = review.add_moderator("cli", "casey", "child_safety").token
        dana = review.add_moderator("cli", "dana", "safety_lead").token
        webhooks = DemoWebhooks(app)
        picture = demo_image(256)
        sha = hashlib.sha256(picture).hexdigest()
        keys = app.state.keys
        evidence = MasterKeyEvidence(lambda kid: keys.master_key(kid).key)
        with (
            BackgroundServer(webhooks.receiver.app()) as receiver_url,
            BackgroundServer(app) as url,
        ):
            webhooks.add_endpoint(receiver_url)
            console.print(
                f"1. local CyberTipline stand-in on {tip_url}, a webhook receiver on "
                f"{receiver_url}; users and moderators added"
            )
            # the submitter thread `frankly serve` starts in the app's lifespan
            stop = start_ncmec_submitter(settings, sessions, app.state.clock, evidence)
            if stop is None:
                console.print("[red]the CyberTipline settings are incomplete")
                return 1
            try:
                with (
                    ServiceClient(url, tokens["bob"]) as bob_http,
                    ServiceClient(url, tokens["alice"]) as alice_http,
                ):
                    key = os.urandom(32)
                    bob = Messenger("bob", bob_http, MemoryRecordStore())
                    alice_store = MemoryRecordStore()
                    alice = Messenger("alice", alice_http, alice_store)
                    bob.send(
                        key,
                        "alice",
                        "bob-alice",
                        MESSAGE_TEXT,
                        [Attachment(picture, "image/jpeg", "a0")],
                    )
                    [record] = alice.receive(lambda _d: key).accepted
                    alice.accept_attachment(record.id, "a0", picture)
                    report = compose_report(
                        alice_store,
                        [record.id],
                        reporter_id="alice",
                        reason=Reason.CHILD_SAFETY,
                        include_attachments=[sha],
                    )
                    alice_http.submit_report(
                        seal(report, fetch_and_pin(alice_http, alice_store)).sealed
                    )
                console.print(
                    "2. bob -> alice (franked, stamped); alice reported it as child safety"
                )
                with httpx.Client(base_url=url) as http:
                    h = {"Authorization": f"Bearer {casey}"}
                    item = http.post("/v1/review/queues/child_safety/claim", headers=h).json()
                    iid = item["item"]["id"]
                    http.post(
                        f"/v1/review/items/{iid}/media/{sha}/reveal",
                        json={"reason": "classify the picture"},
                        headers=h,
                    )
                    http.post(
                        f"/v1/review/items/{iid}/decision",
                        json={"decision": "suspend_sender", "policy": "csam", "note": ""},
                        headers=h,
                    )
                    lh = {"Authorization": f"Bearer {dana}"}
                    [prepared] = http.get("/v1/review/ncmec", headers=lh).json()["reports"]
                    time.sleep(0.5)  # two submitter passes: nothing may leave unapproved
                    if cybertip.calls:
                        problems.append("the stand-in was called before the lead approved")
                    console.print(
                        f"3. casey confirmed item {iid} as csam: report ct-{prepared['id']} "
                        f"{prepared['status']}; the stand-in received "
                        f"{len(cybertip.calls)} request(s) so far"
                    )
                    approved = http.post(
                        f"/v1/review/ncmec/{prepared['id']}/approve",
                        json={"classification": "A1"},
                        headers=lh,
                    ).json()
                    console.print(f"4. dana (safety_lead) approved it: {approved['status']}")
                    deadline = time.monotonic() + 30
                    shown = approved
                    while shown["status"] != "submitted" and time.monotonic() < deadline:
                        time.sleep(0.1)
                        shown = http.get(f"/v1/review/ncmec/{prepared['id']}", headers=lh).json()
                    ah = {"Authorization": f"Bearer {tokens['alice']}"}
                    status = http.get(f"/v1/reports/{report.report_id}", headers=ah).json()
            finally:
                stop()
            if shown["status"] != "submitted" or len(cybertip.finished()) != 1:
                problems.append(f"the report was not filed: {shown['status']}")
            else:
                [done] = cybertip.finished()
                tree = etree.fromstring(done.report_xml)
                console.print(
                    f"5. filed: NCMEC report {shown['ncmec_report_id']}, "
                    f"{len(done.files)} file(s) uploaded, incident "
                    f"{tree.findtext('incidentSummary/incidentType')!r}, reported user "
                    f"{tree.findtext('personOrUserReported/espIdentifier')!r}; every "
                    "document validated against cybertipline.xsd by the stand-in"
                )
                if [data for _n, data in done.files.values()] != [picture]:
                    problems.append("the stand-in did not receive the picture")
            reference = str(shown.get("ncmec_report_id"))
            _check_hold(console, sessions, report.report_id, reference, problems)
            _check_statement(console, sessions, iid, [report.report_id, sha], problems)
            notice = status.get("notice")
            console.print(f"8. alice's status answer: {status.get('status')}; notice:")
            console.print(f"   [italic]{notice}")
            if not notice:
                problems.append("the reporter's status answer has no notice")
            _check_events(console, webhooks, reference, problems)
        app.state.engine.dispose()
    for problem in problems:
        console.print(f"[red]problem: {problem}")
    verdict = "[red]demo finished with problems" if problems else "[green]demo complete"
    console.rule(f"{verdict} in {time.perf_counter() - started:.1f} s")
    return 1 if problems else 0


def _check_hold(
    console: Any, sessions: Any, report_id: str, reference: str, problems: list[str]
) -> None:
    """The preservation hold the submission placed on the report's evidence."""
    from report_service.app import wall_clock_ms
    from report_service.escalation.preservation.service import list_holds

    with sessions() as session:
        holds = list_holds(session, wall_clock_ms(), report_id=report_id)
    ncmec = [h for h in holds if h.source == "ncmec" and h.reference == reference]
    if len(ncmec) != 1:
        problems.append(f"expected one ncmec hold referencing {reference}, found {len(holds)}")
        return
    [hold] = ncmec
    days = None if hold.expires_at is None else (hold.expires_at - hold.placed_at) / DAY_MS
    console.print(
        f"6. preservation hold {hold.hold_id} on report {report_id}: source {hold.source}, "
        f"reference {hold.reference} (NCMEC's report id), {hold.status.value}, "
        f"{'indefinite' if days is None else f'{days:.0f} days'}"
    )
    if days is not None and days < 365:
        problems.append(f"the hold lasts {days:.0f} days, fewer than 365")


def _check_statement(
    console: Any, sessions: Any, item_id: int, private: list[str], problems: list[str]
) -> None:
    """The DSA statement of reasons the decision produced, with no personal data."""
    from sqlalchemy import select

    from report_service.escalation.dsa.models import StatementRow

    with sessions() as session:
        rows = session.scalars(select(StatementRow).where(StatementRow.item_id == item_id)).all()
        payloads = [r.payload for r in rows]
    if len(payloads) != 1:
        problems.append(f"expected one statement of reasons, found {len(payloads)}")
        return
    console.print(
        "7. the statement of reasons for the EU DSA Transparency Database (as it is sent):"
    )
    console.print_json(payloads[0])
    for word in ("alice", "bob", MESSAGE_TEXT, *private):
        if word in payloads[0]:
            problems.append(f"the statement of reasons names {word!r}")


def _check_events(console: Any, webhooks: Any, reference: str, problems: list[str]) -> None:
    """The signed events the receiver verified."""
    events = webhooks.deliver()
    types = [e["type"] for e in events]
    console.print(
        f"9. the webhook receiver verified {len(types)} signed event(s) (Standard Webhooks, "
        f"HMAC-SHA256): {', '.join(types) or 'none'}"
    )
    missing = [t for t in REQUIRED_EVENTS if t not in types]
    if missing:
        problems.append(f"the receiver did not get {', '.join(missing)}")
    submitted = [e["data"] for e in events if e["type"] == "ncmec.submitted"]
    if submitted and str(submitted[0].get("ncmec_report_id")) != reference:
        problems.append("ncmec.submitted does not carry NCMEC's report id")
    if webhooks.refused:
        problems.append(f"{webhooks.refused} webhook request(s) failed verification")
