"""The whole way out over real HTTP, on SQLite and PostgreSQL: the app (``create_app``)
served by uvicorn, the local CyberTipline stand-in and a webhook receiver that checks
signatures with the independent ``standardwebhooks`` package. A child-safety message
reported by two recipients is confirmed as CSAM; nothing leaves before the safety lead
approves; then the submitter (with the hooks ``frankly serve`` gives it) files it once,
holds every report's evidence under NCMEC's reference for at least a year, and announces
it; a statement of reasons without personal data exists; a crash after NCMEC finished
the report and any re-run change nothing."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from client_scan.franking.stamp import stamp
from client_scan.report_format import Reason
from report_service.escalation.dsa.models import StatementRow
from report_service.escalation.ncmec import wiring
from report_service.escalation.ncmec.client import CyberTiplineClient
from report_service.escalation.ncmec.content import CompanyProfile
from report_service.escalation.ncmec.flow import Submitter
from report_service.escalation.ncmec.local_server import PASSWORD, USER, CyberTipServer
from report_service.escalation.ncmec.models import NcmecReport
from report_service.escalation.preservation.service import list_holds
from report_service.escalation.webhooks.deliverer import Deliverer
from report_service.escalation.webhooks.store import add_endpoint
from report_service.review.media.evidence_access import MasterKeyEvidence
from report_service.server import BackgroundServer
from tests.report_service.conftest import Service
from tests.report_service.escalation.webhook_receiver import Receiver
from tests.report_service.review.review_support import png_bytes

DAY_MS = 86_400_000
TEXT = "meet me tonight, don't tell anyone"
PROFILE = CompanyProfile("T", "S", "tips@example.org", legal_url="https://example.org/legal")


class Crash(BaseException):
    """The process dies (not an Exception: nothing catches it)."""


@pytest.fixture
def cybertip() -> Iterator[tuple[CyberTipServer, str]]:
    server = CyberTipServer()
    with BackgroundServer(server.app()) as url:
        yield server, url


@pytest.fixture
def clients() -> Iterator[list[CyberTiplineClient]]:
    made: list[CyberTiplineClient] = []
    yield made
    for client in made:
        client.close()


def _submitter(
    service: Service, url: str, owner: str, clients: list[CyberTiplineClient], **kw: object
) -> Submitter:
    keys = service.keys
    clients.append(CyberTiplineClient(url + "/ispws", USER, PASSWORD, timeout_s=30))
    events, on_submitted = wiring.hooks(service.app.state.settings, service.clock)
    return Submitter(
        service.app.state.session_factory,
        service.clock,
        MasterKeyEvidence(lambda kid: keys.master_key(kid).key),
        PROFILE,
        clients[-1],
        owner=owner,
        events=events,
        on_submitted=on_submitted,
        **kw,  # type: ignore[arg-type]
    )


def test_a_confirmed_case_goes_the_whole_way_out_once(
    service: Service,
    live_url: str,
    cybertip: tuple[CyberTipServer, str],
    receiver: Receiver,
    clients: list[CyberTiplineClient],
) -> None:
    server, tip_url = cybertip
    app = service.app
    sessions = app.state.session_factory
    with sessions() as session:
        endpoint = add_endpoint(
            session, app.state.keys, receiver.url, ["*"], now_ms=service.clock(), random=os.urandom
        )
    receiver.secret = endpoint.secret

    # bob sends a group message with a picture; alice and carol both report it.
    picture = png_bytes(13)
    sha = hashlib.sha256(picture).hexdigest()
    to_alice = service.frank("bob", "alice", TEXT, attachments=[(picture, "image/png")])
    st = stamp(
        service.keyring,
        to_alice.commitment,
        "bob",
        "carol",
        to_alice.conversation_id,
        to_alice.timestamp_ms,
    )
    to_carol = dataclasses.replace(to_alice, recipient_id="carol", stamp=st.tag, key_id=st.key_id)
    reports = {
        "alice": service.report(
            "alice", [to_alice], reason=Reason.CHILD_SAFETY, attachments={sha: picture}
        ),
        "carol": service.report("carol", [to_carol], reason=Reason.CHILD_SAFETY),
    }
    review = app.state.review
    casey = {"Authorization": f"Bearer {review.add_moderator('t', 'casey', 'child_safety').token}"}
    dana = {"Authorization": f"Bearer {review.add_moderator('t', 'dana', 'safety_lead').token}"}
    with httpx.Client(base_url=live_url, timeout=30) as http:
        for who, report in reports.items():
            sent = http.post(
                "/v1/reports",
                content=service.seal(report),
                headers={**service.auth(who), "Content-Type": "application/octet-stream"},
            )
            assert sent.status_code == 201, sent.text
        claimed = http.post("/v1/review/queues/child_safety/claim", headers=casey)
        assert claimed.status_code == 200, claimed.text
        item = claimed.json()["item"]["id"]
        assert claimed.json()["item"]["reporter_count"] == 2
        revealed = http.post(
            f"/v1/review/items/{item}/media/{sha}/reveal",
            json={"reason": "confirm the classification"},
            headers=casey,
        )
        assert revealed.status_code == 200, revealed.text
        decided = http.post(
            f"/v1/review/items/{item}/decision",
            json={"decision": "suspend_sender", "policy": "csam/1.0", "note": "private note"},
            headers=casey,
        )
        assert decided.status_code == 200, decided.text
        [prepared] = http.get("/v1/review/ncmec", headers=dana).json()["reports"]
        assert prepared["status"] == "prepared"

        # Not approved: the submitter sends nothing, holds nothing, announces nothing.
        assert _submitter(service, tip_url, "early", clients).run_once() == []
        assert server.calls == []
        with sessions() as session:
            assert list_holds(session, service.clock(), include_inactive=True) == []

        approved = http.post(
            f"/v1/review/ncmec/{prepared['id']}/approve",
            json={"classification": "A1"},
            headers=dana,
        )
        assert approved.status_code == 200, approved.text

        # The process dies right after NCMEC finished the report, before recording it.
        def die(step: str) -> None:
            if step == "finish":
                raise Crash

        with pytest.raises(Crash):
            _submitter(service, tip_url, "dead", clients, after_call=die).run_once()
        service.clock.now_ms += 10 * 60_000 + 1  # the dead submitter's lease (10 min) ends
        assert _submitter(service, tip_url, "s1", clients).run_once() == [prepared["id"]]
        calls = list(server.calls)
        assert _submitter(service, tip_url, "s2", clients).run_once() == []  # nothing left to do
        assert server.calls == calls

        shown = http.get(f"/v1/review/ncmec/{prepared['id']}", headers=dana).json()
        assert shown["status"] == "submitted"
        status = http.get(
            f"/v1/reports/{reports['alice'].report_id}", headers=service.auth("alice")
        )
        assert status.status_code == 200, status.text
        assert "csam" in status.json()["notice"]

    # Exactly one finished report at NCMEC, with the file.
    [done] = server.finished()
    assert len(server.reports) == 1
    assert [data for _name, data in done.files.values()] == [picture]
    with sessions() as session:
        row = session.scalars(select(NcmecReport).where(NcmecReport.item_id == item)).one()
    ncmec_id = row.ncmec_report_id
    assert ncmec_id is not None
    assert shown["ncmec_report_id"] == ncmec_id

    # A hold on each report of the item, under NCMEC's reference, for at least a year; the
    # hook run again (a retried completion) adds none.
    def holds() -> list[tuple[str, str, str | None, int]]:
        with sessions() as session:
            return sorted(
                (h.report_id, h.source, h.reference, (h.expires_at or 0) - h.placed_at)
                for h in list_holds(session, service.clock(), include_inactive=True)
            )

    expected_reports = sorted(r.report_id for r in reports.values())
    first = holds()
    assert [h[0] for h in first] == expected_reports
    for _report_id, source, reference, length in first:
        assert source == "ncmec"
        assert reference == str(ncmec_id)
        assert length >= 365 * DAY_MS
    _events, on_submitted = wiring.hooks(app.state.settings, service.clock)
    with sessions.begin() as session:
        on_submitted(session, expected_reports, f"CyberTipline report {ncmec_id}", str(ncmec_id))
    assert holds() == first

    # A statement of reasons, with no user ids, text or report ids in it.
    with sessions() as session:
        [statement] = session.scalars(select(StatementRow).where(StatementRow.item_id == item))
    payload = statement.payload
    assert "STATEMENT_CATEGORY_PROTECTION_OF_MINORS" in payload
    private = ["alice", "bob", "carol", "casey", "dana", TEXT, "private note", sha]
    for word in private + expected_reports:
        assert word not in payload

    # The receiver got ncmec.submitted, once, signed and verified.
    Deliverer(sessions, lambda: app.state.keys, clock=service.clock).run_once()
    assert receiver.received
    assert all(r.verified for r in receiver.received)
    events = [r.event for r in receiver.received]
    submitted = [e["data"] for e in events if e["type"] == "ncmec.submitted"]
    assert submitted == [{"case_id": row.id, "item_id": item, "ncmec_report_id": ncmec_id}]
    types = {e["type"] for e in events}
    assert {"report.created", "item.claimed", "item.decided"} <= types
