"""Report intake over HTTP on SQLite and PostgreSQL: accept, repeat, status, every error."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from client_scan.franking.message import FrankedMessage
from client_scan.franking.stamp import stamp
from client_scan.report_format import Reason
from report_service.keys import KeyMaterial
from report_service.storage.models import Report, ReportItem, ReportMessage, ReviewItem
from report_service.storage.reports import alias_report_id

from .conftest import FakeClock, Franker, Service, make_service


def count(service: Service, model: type) -> int:
    with service.app.state.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_report_is_accepted_then_repeat_gets_first_answer(service: Service) -> None:
    context = service.frank("bob", "alice", "hi alice")
    abusive = service.frank("alice", "bob", "you are awful")
    report = service.report("bob", [context, abusive], comment="please look")
    first = service.submit("bob", report)
    assert first.status_code == 201
    assert first.json() == {"report_id": report.report_id, "status": "received"}
    again = service.submit("bob", report)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert count(service, Report) == 1
    assert count(service, ReportMessage) == 2
    with service.app.state.session_factory() as session:
        item = session.scalars(select(ReviewItem)).one()
        assert item.commitment == abusive.commitment.hex()
        assert item.sender_id == "alice"
        assert item.reporter_count == 1
        assert item.status == "open"
        assert item.queue == "general"


def test_status_answers_the_reporter_only(service: Service) -> None:
    report = service.report("bob", [service.frank("alice", "bob")])
    assert service.submit("bob", report).status_code == 201
    mine = service.client.get(f"/v1/reports/{report.report_id}", headers=service.auth("bob"))
    assert mine.status_code == 200
    assert mine.json() == {"report_id": report.report_id, "status": "received"}
    theirs = service.client.get(f"/v1/reports/{report.report_id}", headers=service.auth("carol"))
    missing = service.client.get(f"/v1/reports/{uuid.uuid4()}", headers=service.auth("carol"))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_status_shows_the_decision(service: Service) -> None:
    report = service.report("bob", [service.frank("alice", "bob")])
    service.submit("bob", report)
    with service.app.state.session_factory() as session:
        item = session.scalars(select(ReviewItem)).one()
        item.status = "decided"
        item.outcome = "violation_removed"
        session.commit()
    answer = service.client.get(f"/v1/reports/{report.report_id}", headers=service.auth("bob"))
    assert {k: v for k, v in answer.json().items() if k != "notice"} == {
        "report_id": report.report_id,
        "status": "decided",
        "outcome": "violation_removed",
    }


def test_reports_about_one_message_merge_into_one_item(service: Service) -> None:
    # alice sends one message to a group: the platform stamps it once per recipient,
    # so bob's and carol's copies share the commitment.
    bob_copy = service.frank("alice", "bob", "spam spam", conversation="group")
    carol_copy = replace(
        bob_copy,
        recipient_id="carol",
        stamp=_restamp(service, bob_copy, "carol"),
    )
    r1 = service.report("bob", [bob_copy], reason=Reason.SPAM)
    r2 = service.report("carol", [carol_copy], reason=Reason.CHILD_SAFETY)
    assert service.submit("bob", r1).status_code == 201
    assert service.submit("carol", r2).status_code == 201
    # bob again with a new report id about the same message: not a new reporter
    assert service.submit("bob", service.report("bob", [bob_copy])).status_code == 201
    with service.app.state.session_factory() as session:
        item = session.scalars(select(ReviewItem)).one()
        assert item.reporter_count == 2
        assert item.reason == "spam"
        assert item.child_safety is True
        assert item.queue == "child_safety"
        links = session.scalar(select(func.count()).select_from(ReportItem))
        assert links == 3


def _restamp(service: Service, m: FrankedMessage, recipient: str) -> bytes:
    return stamp(
        service.keyring, m.commitment, m.sender_id, recipient, m.conversation_id, m.timestamp_ms
    ).tag


def error_of(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body) == {"error"}
    err: dict[str, object] = body["error"]
    return err


@pytest.mark.parametrize(
    ("code", "index"),
    [
        ("unknown_key", 1),
        ("stamp_expired", 1),
        ("timestamp_invalid", 1),
        ("not_party", 1),
        ("stamp_invalid", 1),
        ("commitment_mismatch", 1),
        ("payload_invalid", 1),
        ("attachment_mismatch", None),
        ("mixed_conversations", 1),
    ],
)
def test_every_verification_error_is_a_422_naming_the_message(
    sqlite_service: Service, code: str, index: int | None
) -> None:
    s = sqlite_service
    good = s.frank("alice", "bob", "context")
    bad = s.frank("alice", "bob", "subject")
    attachments: dict[str, bytes] = {}
    reported = None
    if code == "unknown_key":
        bad = replace(bad, key_id="fk-nope")
    elif code == "stamp_expired":
        bad = s.frank("alice", "bob", timestamp_ms=s.keys.franking.active.created_at_ms - 10)
    elif code == "timestamp_invalid":
        bad = s.frank("alice", "bob", timestamp_ms=s.clock() + 3_600_000)
    elif code == "not_party":
        bad = s.frank("alice", "carol")
    elif code == "stamp_invalid":
        bad = replace(bad, stamp=bytes(32))
    elif code == "commitment_mismatch":
        bad = replace(bad, franking_key=bytes(32))
    elif code == "payload_invalid":
        from client_scan.franking.commitment import commit

        raw = b'{"v":2}'
        fk = bytes(range(32))
        c = commit(fk, raw)
        bad = replace(s.frank("alice", "bob"), payload=raw, franking_key=fk, commitment=c)
        bad = replace(bad, stamp=_restamp(s, bad, "bob"))
        reported = ["x"]
    elif code == "attachment_mismatch":
        attachments = {hashlib.sha256(b"x").hexdigest(): b"x"}
    elif code == "mixed_conversations":
        bad = s.frank("alice", "bob", conversation="other")
    report = s.report("bob", [good, bad], reported=reported, attachments=attachments)
    if reported is None:
        from client_scan.franking.payload import parse_payload

        report = replace(report, reported=(parse_payload(bad.payload).id,))
    response = s.submit("bob", report)
    assert response.status_code == 422
    err = error_of(response)
    assert err["code"] == code
    assert err.get("message_index") == index
    assert count(s, Report) == 0
    metrics = s.client.get("/metrics").text
    assert f'frankly_reports_rejected_total{{code="{code}"}} 1.0' in metrics


def test_reporter_must_be_the_authenticated_user(sqlite_service: Service) -> None:
    s = sqlite_service
    report = s.report("bob", [s.frank("alice", "bob")])
    response = s.submit("carol", report)
    assert response.status_code == 422
    assert error_of(response)["code"] == "reporter_mismatch"


def test_report_id_of_another_reporter_is_kept_apart_under_an_alias(
    sqlite_service: Service,
) -> None:
    s = sqlite_service
    report = s.report("bob", [s.frank("alice", "bob")])
    assert s.submit("bob", report).status_code == 201
    theirs = s.report("carol", [s.frank("alice", "carol")], report_id=report.report_id)
    response = s.submit("carol", theirs)
    assert response.status_code == 201
    assert response.json()["report_id"] == report.report_id
    assert count(s, Report) == 2
    with s.app.state.session_factory() as session:
        stored = session.get(Report, alias_report_id("carol", report.report_id))
        assert stored is not None
        assert stored.reporter_id == "carol"


def test_missing_or_bad_token_is_401(sqlite_service: Service) -> None:
    s = sqlite_service
    sealed = s.seal(s.report("bob", [s.frank("alice", "bob")]))
    headers = {"Content-Type": "application/octet-stream"}
    assert s.client.post("/v1/reports", content=sealed, headers=headers).status_code == 401
    bad = {**headers, "Authorization": "Bearer nope"}
    response = s.client.post("/v1/reports", content=sealed, headers=bad)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_wrong_content_type_is_415(sqlite_service: Service) -> None:
    s = sqlite_service
    sealed = s.seal(s.report("bob", [s.frank("alice", "bob")]))
    headers = {**s.auth("bob"), "Content-Type": "application/json"}
    response = s.client.post("/v1/reports", content=sealed, headers=headers)
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("body", "code", "status"),
    [
        (b"", "seal_invalid", 400),
        (b"not sealed at all", "seal_invalid", 400),
    ],
)
def test_malformed_bodies_are_4xx(
    sqlite_service: Service, body: bytes, code: str, status: int
) -> None:
    s = sqlite_service
    headers = {**s.auth("bob"), "Content-Type": "application/octet-stream"}
    response = s.client.post("/v1/reports", content=body, headers=headers)
    assert response.status_code == status
    assert error_of(response)["code"] == code


@pytest.mark.parametrize(
    ("plain", "code"),
    [
        (b"{", "report_invalid"),
        (b'{"v": 2}', "unsupported_version"),
        (b"[]", "report_invalid"),
    ],
)
def test_sealed_garbage_is_400(sqlite_service: Service, plain: bytes, code: str) -> None:
    response = sqlite_service.submit("bob", plain)
    assert response.status_code == 400
    assert error_of(response)["code"] == code


def test_report_key_endpoint(sqlite_service: Service) -> None:
    import base64

    answer = sqlite_service.client.get("/v1/keys/report").json()
    key = sqlite_service.keys.active_sealing
    assert answer == {"key_id": key.kid, "public_key": base64.b64encode(key.public_key).decode()}


def test_reports_sealed_to_a_rotated_key_and_old_stamps_still_verify(
    sqlite_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock
) -> None:
    import os

    from report_service.keys import rotate_key

    before = Franker(keys=keys, clock=clock)
    old_message = before.frank("alice", "bob", "stamped with the old key")
    sealed_to_old = before.seal(before.report("bob", [old_message]))
    clock.now_ms += 1000
    rotated = rotate_key(
        rotate_key(keys, "franking", os.urandom, clock()), "sealing", os.urandom, clock()
    )
    clock.now_ms += 1000
    for svc in make_service(sqlite_url, tmp_path, rotated, clock):
        svc.add_user("alice")
        svc.add_user("bob")
        headers = {**svc.auth("bob"), "Content-Type": "application/octet-stream"}
        response = svc.client.post("/v1/reports", content=sealed_to_old, headers=headers)
        assert response.status_code == 201
        new_message = svc.frank("alice", "bob", "stamped with the new key")
        assert new_message.key_id == rotated.franking.active_kid != old_message.key_id
        assert svc.submit("bob", svc.report("bob", [old_message, new_message])).status_code == 201
