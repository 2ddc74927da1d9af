"""Smaller holes of issue 10 (section 5), attacked through HTTP against the whole service:
banking and revealing without the lease, probing and squatting other reporters' report
ids, and reading ``/metrics`` from the network. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from client_scan.report_format import Reason
from tests.adversarial._inputs_support import moderator, running_service
from tests.report_service.conftest import Service

ALL_INTERFACES = "0.0.0.0"  # noqa: S104  (what `serve --host 0.0.0.0` binds)


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[Service]:
    yield from running_service(database_url, tmp_path)


WHY = {"reason": "the blurred view is ambiguous here"}


def _photo() -> bytes:
    """A structured image that PDQ hashes with good quality."""
    y, x = np.mgrid[0:256, 0:256]
    arr = np.stack([(x + y) % 256, (x * 3) % 256, ((x // 32 + y // 32) % 2) * 255], axis=-1)
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8), "RGB").save(buf, format="PNG")
    return buf.getvalue()


def _report_image(s: Service) -> str:
    image = _photo()
    sha = hashlib.sha256(image).hexdigest()
    message = s.frank("mallory", "bob", "look", attachments=[(image, "image/png")])
    report = s.report("bob", [message], reason=Reason.NCII, attachments={sha: image})
    assert s.submit("bob", report).status_code == 201
    return sha


def _claim(s: Service, headers: dict[str, str]) -> int:
    claim = s.client.post("/v1/review/queues/general/claim", headers=headers)
    assert claim.status_code == 200, claim.text
    item: int = claim.json()["item"]["id"]
    return item


def _banked_entries(s: Service) -> int:
    return sum(len(bank) for bank in s.app.state.banks.lists.values())


def _audit(s: Service, action: str) -> list[dict[str, Any]]:
    auditor = moderator(s, f"au{uuid.uuid4().hex[:6]}", "auditor")
    page = s.client.get(f"/v1/audit?action={action}", headers=auditor)
    assert page.status_code == 200, page.text
    entries: list[dict[str, Any]] = page.json()["entries"]
    return entries


def _decide(s: Service, headers: dict[str, str], item: int, *, bank: bool) -> None:
    decided = s.client.post(
        f"/v1/review/items/{item}/decision",
        headers=headers,
        json={"decision": "suspend_sender", "policy": "ncii/2.0", "bank_media": bank},
    )
    assert decided.status_code == 200, decided.text


# ---------------------------------------------------------------------------- banking


def test_no_reviewer_banks_against_the_deciders_choice(service: Service) -> None:
    """mia decides a violation and chooses not to bank; max (a moderator without the
    lease) and mia herself afterwards cannot bank it: 200 and a new list entry before."""
    s = service
    _report_image(s)
    mia, max_ = moderator(s, "mia", "moderator"), moderator(s, "max", "moderator")
    item = _claim(s, mia)
    _decide(s, mia, item, bank=False)
    before = _banked_entries(s)
    for who in (max_, mia):
        r = s.client.post(f"/v1/review/items/{item}/bank", headers=who)
        assert (r.status_code, r.json()["error"]["code"]) == (409, "lease_required"), r.text
        # A reason does not make a moderator a lead.
        r = s.client.post(f"/v1/review/items/{item}/bank", headers=who, json=WHY)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden"), r.text
    assert _banked_entries(s) == before
    assert _audit(s, "bank_media") == []


def test_a_lead_overrides_only_with_a_stated_reason_and_it_is_audited(
    service: Service,
) -> None:
    s = service
    _report_image(s)
    mia, lead = moderator(s, "mia", "moderator"), moderator(s, "lea", "lead")
    item = _claim(s, mia)
    _decide(s, mia, item, bank=False)
    r = s.client.post(f"/v1/review/items/{item}/bank", headers=lead)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "lease_required")
    short = s.client.post(f"/v1/review/items/{item}/bank", headers=lead, json={"reason": "x"})
    assert short.status_code == 422
    reason = "known series; the decider missed it"
    r = s.client.post(f"/v1/review/items/{item}/bank", headers=lead, json={"reason": reason})
    assert r.status_code == 200, r.text
    [entry] = _audit(s, "bank_media")
    assert entry["actor"] == "lea"
    assert entry["detail"]["override"] is True
    assert entry["detail"]["reason"] == reason


def test_the_decider_may_retry_banking_they_asked_for(service: Service) -> None:
    s = service
    _report_image(s)
    mia, max_ = moderator(s, "mia", "moderator"), moderator(s, "max", "moderator")
    item = _claim(s, mia)
    _decide(s, mia, item, bank=True)
    again = s.client.post(f"/v1/review/items/{item}/bank", headers=mia)
    assert again.status_code == 200, again.text
    other = s.client.post(f"/v1/review/items/{item}/bank", headers=max_)
    assert (other.status_code, other.json()["error"]["code"]) == (409, "lease_required")
    assert [e["detail"].get("override") for e in _audit(s, "bank_media")] == [None, None]


# ---------------------------------------------------------------------------- reveal


def test_a_leads_reveal_without_the_lease_is_audited_as_an_override(service: Service) -> None:
    s = service
    sha = _report_image(s)
    mia, max_ = moderator(s, "mia", "moderator"), moderator(s, "max", "moderator")
    lead = moderator(s, "lea", "lead")
    item = _claim(s, mia)
    url = f"/v1/review/items/{item}/media/{sha}/reveal"
    r = s.client.post(url, headers=max_, json=WHY)
    assert (r.status_code, r.json()["error"]["code"]) == (409, "lease_required")
    assert s.client.post(url, headers=mia, json=WHY).status_code == 200
    assert s.client.post(url, headers=lead, json=WHY).status_code == 200
    entries = _audit(s, "media_reveal")
    assert [(e["actor"], e["detail"]["with_lease"], e["detail"]["override"]) for e in entries] == [
        ("mia", True, False),
        ("lea", False, True),
    ]
    assert all(e["detail"]["reason"] == WHY["reason"] for e in entries)


# ---------------------------------------------------------------------------- report ids


def test_another_reporters_id_is_not_revealed_before_verification(service: Service) -> None:
    """carol learned bob's report id: an unverifiable report with it gets exactly the
    answer a fresh id gets (409 ``conflict`` before, before any verification)."""
    s = service
    bobs = s.report("bob", [s.frank("alice", "bob")])
    assert s.submit("bob", bobs).status_code == 201
    answers = []
    for report_id in (bobs.report_id, str(uuid.uuid4())):
        forged = s.frank("alice", "carol")
        forged = replace(forged, stamp=bytes(32))
        r = s.submit("carol", s.report("carol", [forged], report_id=report_id))
        answers.append((r.status_code, r.json()["error"]["code"]))
    assert answers == [(422, "stamp_invalid")] * 2


def test_a_valid_report_reusing_anothers_id_tells_nothing_and_takes_nothing(
    service: Service,
) -> None:
    s = service
    bobs = s.report("bob", [s.frank("alice", "bob", "from alice to bob")])
    first = s.submit("bob", bobs)
    assert first.status_code == 201
    carols = s.report("carol", [s.frank("alice", "carol")], report_id=bobs.report_id)
    fresh = s.report("carol", [s.frank("alice", "carol", "another")])
    r_reuse, r_fresh = s.submit("carol", carols), s.submit("carol", fresh)
    assert r_reuse.status_code == r_fresh.status_code == 201
    assert r_reuse.json() == {"report_id": bobs.report_id, "status": "received"}
    # Each reporter sees their own report under the id they chose; a repeat is idempotent.
    again = s.submit("carol", carols)
    assert (again.status_code, again.json()) == (200, r_reuse.json())
    assert s.submit("bob", bobs).json() == first.json()
    for who in ("bob", "carol"):
        status = s.client.get(f"/v1/reports/{bobs.report_id}", headers=s.auth(who))
        assert status.status_code == 200, (who, status.text)
        assert status.json()["report_id"] == bobs.report_id
    # Two reports, two items, never merged into bob's.
    lead = moderator(s, "lea", "lead")
    assert s.client.get("/v1/review/queues", headers=lead).json()["queues"][0]["depth"] == 3


def test_an_id_squatted_in_advance_does_not_block_its_owner(service: Service) -> None:
    """mallory guesses (or learned) the id bob's client will use and reports first."""
    s = service
    squatted = str(uuid.uuid4())
    mallorys = s.report("mallory", [s.frank("alice", "mallory")], report_id=squatted)
    assert s.submit("mallory", mallorys).status_code == 201
    bobs = s.report("bob", [s.frank("alice", "bob")], report_id=squatted)
    r = s.submit("bob", bobs)
    assert r.status_code == 201, r.text  # 409 "already taken" before
    status = s.client.get(f"/v1/reports/{squatted}", headers=s.auth("bob"))
    assert status.status_code == 200


def test_status_of_anothers_report_is_the_same_404_as_no_report(service: Service) -> None:
    s = service
    bobs = s.report("bob", [s.frank("alice", "bob")])
    assert s.submit("bob", bobs).status_code == 201
    theirs = s.client.get(f"/v1/reports/{bobs.report_id}", headers=s.auth("carol"))
    nobody = s.client.get(f"/v1/reports/{uuid.uuid4()}", headers=s.auth("carol"))
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.json() == nobody.json()


# ---------------------------------------------------------------------------- metrics


def test_metrics_are_not_served_to_the_network_without_a_token(
    database_url: str, tmp_path: Path
) -> None:
    """``frankly serve --host 0.0.0.0`` with no FRANKLY_METRICS_TOKEN: counters by status
    and rejection code were open to anyone (200 before)."""
    for s in running_service(database_url, tmp_path, host=ALL_INTERFACES):
        assert s.submit("bob", s.report("bob", [s.frank("alice", "bob")])).status_code == 201
        response = s.client.get("/metrics")
        assert response.status_code == 401
        assert "frankly_reports_accepted_total" not in response.text


def test_an_erasure_request_for_a_reused_id_never_destroys_the_first_reporters_evidence(
    service: Service, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """carol reuses bob's report id, then asks for "her report ID" to be erased: with
    ``--reporter carol`` the operator's command destroys carol's report (stored under her
    alias of the id), and bob's evidence stays readable."""
    from frankly.cli import main
    from report_service.storage.models import EvidenceKey
    from report_service.storage.reports import alias_report_id

    s = service
    bobs = s.report("bob", [s.frank("alice", "bob")], comment="bob's words")
    assert s.submit("bob", bobs).status_code == 201
    carols = s.report("carol", [s.frank("alice", "carol")], report_id=bobs.report_id)
    assert s.submit("carol", carols).status_code == 201
    monkeypatch.setenv("FRANKLY_DATABASE_URL", database_url)
    argv = ["evidence", "destroy", bobs.report_id, "--reason", "erasure request DP-1"]
    data = ["--data", str(tmp_path / "cli-data")]
    assert main([*argv, "--reporter", "mallory", *data]) == 2  # not mallory's: refused
    assert main([*argv, "--reporter", "carol", *data]) == 0
    with s.app.state.session_factory() as session:
        keys = {k.report_id: k.wrapped_key for k in session.scalars(select(EvidenceKey))}
    assert keys[alias_report_id("carol", bobs.report_id)] is None
    assert keys[bobs.report_id] is not None
