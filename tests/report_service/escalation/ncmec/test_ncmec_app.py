"""The CyberTipline path through the real app (``create_app``) over real HTTP: a sealed
child-safety report is verified, a child-safety moderator confirms it as CSAM, the
child-safety lead approves, and the submitter files it with the local CyberTipline
stand-in, which receives the verified text and the picture."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from client_scan.report_format import Reason
from report_service.escalation.ncmec.client import CyberTiplineClient
from report_service.escalation.ncmec.content import CompanyProfile
from report_service.escalation.ncmec.flow import Submitter
from report_service.escalation.ncmec.local_server import PASSWORD, USER, CyberTipServer
from report_service.review.media.evidence_access import MasterKeyEvidence
from report_service.server import BackgroundServer
from tests.report_service.conftest import Service
from tests.report_service.review.review_support import png_bytes


@pytest.fixture
def cybertip() -> Iterator[tuple[CyberTipServer, str]]:
    server = CyberTipServer()
    with BackgroundServer(server.app()) as url:
        yield server, url


def test_a_confirmed_case_reaches_the_cybertipline(
    service: Service, live_url: str, cybertip: tuple[CyberTipServer, str], tmp_path: Path
) -> None:
    server, url = cybertip
    picture = png_bytes(11)
    sha = hashlib.sha256(picture).hexdigest()
    msg = service.frank("bob", "alice", "meet me, don't tell", attachments=[(picture, "image/png")])
    report = service.report(
        "alice", [msg], reason=Reason.CHILD_SAFETY, attachments={sha: picture}, comment="help"
    )
    assert service.submit("alice", report).status_code == 201
    review = service.app.state.review
    cs = review.add_moderator("cli", "casey", "child_safety").token
    lead = review.add_moderator("cli", "dana", "safety_lead").token
    with httpx.Client(base_url=live_url, timeout=30) as http:
        h = {"Authorization": f"Bearer {cs}"}
        claimed = http.post("/v1/review/queues/child_safety/claim", headers=h).json()
        item = claimed["item"]["id"]
        revealed = http.post(
            f"/v1/review/items/{item}/media/{sha}/reveal",
            json={"reason": "confirm the classification"},
            headers=h,
        )
        assert revealed.status_code == 200, revealed.text
        decided = http.post(
            f"/v1/review/items/{item}/decision",
            json={"decision": "suspend_sender", "policy": "csam/1.0", "note": ""},
            headers=h,
        )
        assert decided.status_code == 200, decided.text
        lh = {"Authorization": f"Bearer {lead}"}
        [prepared] = http.get("/v1/review/ncmec", headers=lh).json()["reports"]
        assert prepared["status"] == "prepared"
        assert prepared["files"][0]["viewed_by_esp"] is True
        ok = http.post(
            f"/v1/review/ncmec/{prepared['id']}/approve", json={"classification": "A1"}, headers=lh
        )
        assert ok.status_code == 200, ok.text
    keys = service.keys
    client = CyberTiplineClient(url + "/ispws", USER, PASSWORD, timeout_s=30)
    try:
        submitter = Submitter(
            service.app.state.session_factory,
            service.clock,
            MasterKeyEvidence(lambda kid: keys.master_key(kid).key),
            CompanyProfile("T", "S", "tips@example.org", legal_url="https://example.org/legal"),
            client,
            owner="test",
        )
        assert submitter.run_once() == [prepared["id"]]
    finally:
        client.close()
    [done] = server.finished()
    [(_name, data)] = done.files.values()
    assert data == picture
    tree = etree.fromstring(done.report_xml)
    assert "meet me, don't tell" in (tree.findtext("internetDetails/chatImIncident/content") or "")
    assert tree.findtext("personOrUserReported/espIdentifier") == "bob"
    assert b"help" not in done.report_xml  # the reporter's comment is not a verified fact
    [details] = done.details.values()
    assert etree.fromstring(details).findtext("fileViewedByEsp") == "true"
