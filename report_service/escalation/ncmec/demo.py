"""``frankly ncmec demo``: a confirmed child-safety case filed with a local CyberTipline.

On a temporary SQLite folder, with a local stand-in for NCMEC's test service
(:mod:`.local_server`) on a loopback port:

1. bob sends alice a picture and a message through the relay (franked and stamped);
2. alice reports it as child safety (sealed, verified by the service);
3. casey (``child_safety``) claims it, reveals the original and decides it under policy
   ``csam``: the service prepares a CyberTipline report;
4. dana (``safety_lead``) approves it over the API;
5. the service's submitter (the thread ``frankly serve`` runs) files it: submit, upload,
   file details, finish; the stand-in validates every document against the schema.

Nothing leaves the machine. Exit status 0 when every step did what it should.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def run() -> int:
    """Run the demo in a temporary folder; the exit status."""
    with tempfile.TemporaryDirectory(prefix="frankly-ncmec-") as tmp:
        return _run(Path(tmp))


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
    from report_service.keys import generate_key_material, save_key_file
    from report_service.review.evidence_access import MasterKeyEvidence
    from report_service.server import BackgroundServer
    from report_service.settings import Settings

    console = Console()
    started = time.perf_counter()
    console.rule("[bold]Frankly demo: confirmed child-safety case -> NCMEC CyberTipline")
    cybertip = CyberTipServer()
    password_file = data_dir / "ncmec-password"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(PASSWORD + "\n")
    save_key_file(data_dir / "keys.json", generate_key_material(os.urandom, wall_clock_ms()))
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
        console.print(f"1. local CyberTipline stand-in on {tip_url}; users and moderators added")
        picture = demo_image(256)
        sha = hashlib.sha256(picture).hexdigest()
        keys = app.state.keys
        evidence = MasterKeyEvidence(lambda kid: keys.master_key(kid).key)
        with BackgroundServer(app) as url:
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
                        "don't tell your parents",
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
                    console.print(
                        f"3. casey confirmed item {iid} as csam: report ct-{prepared['id']} "
                        f"{prepared['status']}"
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
            finally:
                stop()
        app.state.engine.dispose()
    ok = shown["status"] == "submitted" and len(cybertip.finished()) == 1
    if ok:
        [done] = cybertip.finished()
        tree = etree.fromstring(done.report_xml)
        console.print(
            f"5. filed: NCMEC report {shown['ncmec_report_id']}, "
            f"{len(done.files)} file(s) uploaded, incident "
            f"{tree.findtext('incidentSummary/incidentType')!r}, reported user "
            f"{tree.findtext('personOrUserReported/espIdentifier')!r}; every document "
            "validated against cybertipline.xsd by the stand-in"
        )
    verdict = "[green]demo complete" if ok else "[red]demo finished with problems"
    console.rule(f"{verdict} in {time.perf_counter() - started:.1f} s")
    return 0 if ok else 1
