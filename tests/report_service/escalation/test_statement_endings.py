"""A violation's statement of reasons ends with its decision, whichever way the decision
ends, over real HTTP (uvicorn on 127.0.0.1) on SQLite and PostgreSQL: a lead's reopen, a
reporter's complaint reversed (both re-open the item) and a sender's appeal reversed all
queue the same corrected statement (end date set, the original's PUID named) and
withdraw the original when it was never sent; the sender's ``GET /v1/statements`` shows
that the restriction ended, when, and why; a fresh violation decision gets a new
statement that stands."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from client_scan.report_format import Reason
from report_service.escalation.dsa.builder import validate_statement
from report_service.escalation.dsa.models import StatementRow
from tests.report_service.conftest import loopback_client
from tests.report_service.escalation.appeal_support import REPORTER, SENDER
from tests.report_service.escalation.appeal_support import claim_and_decide as _claim_and_decide
from tests.report_service.escalation.appeal_support import mod as _mod
from tests.report_service.escalation.appeal_support import reported as _reported


def _rows(service: Any) -> list[StatementRow]:
    with service.app.state.session_factory() as session:
        return list(session.scalars(select(StatementRow).order_by(StatementRow.id)))


def _statements(service: Any, http: httpx.Client) -> dict[int, dict[str, Any]]:
    r = http.get("/v1/statements", headers=service.auth(SENDER))
    assert r.status_code == 200, r.text
    return {s["statement_id"]: s for s in r.json()["statements"]}


def _check_ended(
    service: Any, http: httpx.Client, original: StatementRow, because: str, words: str
) -> StatementRow:
    """The original no longer stands; its correction is queued, valid and names it."""
    rows = _rows(service)
    [correction] = [r for r in rows if r.corrects_id == original.id]
    assert correction.kind == "correction"
    assert correction.state == "pending"
    assert correction.decision_id == original.decision_id
    payload = json.loads(correction.payload)
    assert validate_statement(payload) == {}
    assert payload["puid"] != original.puid
    ends = [v for k, v in payload.items() if k.startswith("end_date_")]
    assert ends
    assert all(v == payload["application_date"] for v in ends)
    assert original.puid in payload["decision_facts"]
    assert words in payload["decision_facts"]
    assert SENDER not in correction.payload
    assert REPORTER not in correction.payload

    seen = _statements(service, http)
    mine = seen[original.id]
    assert mine["standing"] is False
    assert mine["appealable_until"] is None
    assert mine["ended_because"] == because
    assert mine["ended_at"] == correction.created_at
    assert "the restriction has ended" in mine["summary"]
    corr = seen[correction.id]
    assert corr["kind"] == "correction"
    assert corr["ended_because"] == because
    assert corr["summary"].startswith(f"Correction of statement {original.id}: ")
    assert corr["decided_at"] == mine["decided_at"]
    assert corr["transparency_database"] == payload
    # A statement that no longer stands cannot be appealed.
    again = http.post(
        "/v1/appeals",
        headers=service.auth(SENDER),
        json={"statement_id": original.id, "reason": "unfair"},
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_appealable"
    return correction


def test_lead_reopen_withdraws_an_unsent_statement_and_queues_its_correction(
    service: Any, live_url: str
) -> None:
    mo1, mo2, lead = _mod(service, "mo1"), _mod(service, "mo2"), _mod(service, "lee", "lead")
    with loopback_client(live_url) as http:
        _reported(service)
        item = _claim_and_decide(http, mo1, "suspend_sender")
        [original] = _rows(service)
        assert _statements(service, http)[original.id]["standing"] is True
        assert _statements(service, http)[original.id]["ended_because"] is None

        r = http.post(
            f"/v1/review/items/{item}/reopen",
            headers=lead,
            json={"reason": "the note does not support a suspension"},
        )
        assert r.status_code == 200, r.text
        correction = _check_ended(
            service, http, original, "reopened", "re-opened for a fresh review"
        )
        states = {r.id: r.state for r in _rows(service)}
        assert states == {original.id: "withdrawn", correction.id: "pending"}

        # A fresh violation decision gets its own statement, which stands.
        assert _claim_and_decide(http, mo2, "warn_sender") == item
        fresh = [r for r in _rows(service) if r.id not in states]
        assert [(r.kind, r.decision, r.state) for r in fresh] == [
            ("decision", "warn_sender", "pending")
        ]
        now_seen = _statements(service, http)[fresh[0].id]
        assert now_seen["standing"] is True
        assert now_seen["ended_because"] is None
        # Reopening a decision that already had its statement ended adds nothing more.
        lead_again = http.post(
            f"/v1/review/items/{item}/reopen", headers=lead, json={"reason": "once more, sorry"}
        )
        assert lead_again.status_code == 200, lead_again.text
        assert len(_rows(service)) == 4
    assert service.app.state.review.audit_verify().ok


def test_reopen_of_a_sent_statement_keeps_it_and_sends_the_correction(
    service: Any, live_url: str
) -> None:
    mo1, lead = _mod(service, "mo1"), _mod(service, "lee", "lead")
    with loopback_client(live_url) as http:
        _reported(service)
        item = _claim_and_decide(http, mo1, "warn_sender")
        [original] = _rows(service)
        with service.app.state.session_factory.begin() as session:
            row = session.get(StatementRow, original.id)
            assert row is not None
            row.state = "submitted"  # as the submitter records it
            row.db_uuid = "uuid-1"
        r = http.post(
            f"/v1/review/items/{item}/reopen", headers=lead, json={"reason": "wrong policy here"}
        )
        assert r.status_code == 200, r.text
        correction = _check_ended(
            service, http, original, "reopened", "re-opened for a fresh review"
        )
        states = {r.id: r.state for r in _rows(service)}
        assert states == {original.id: "submitted", correction.id: "pending"}


def test_no_violation_reopen_queues_nothing(service: Any, live_url: str) -> None:
    mo1, lead = _mod(service, "mo1"), _mod(service, "lee", "lead")
    with loopback_client(live_url) as http:
        _reported(service)
        item = _claim_and_decide(http, mo1, "no_violation")
        r = http.post(
            f"/v1/review/items/{item}/reopen", headers=lead, json={"reason": "look again at it"}
        )
        assert r.status_code == 200, r.text
        assert _rows(service) == []


def test_reporter_complaint_reversed_ends_the_violation_statement(
    service: Any, live_url: str
) -> None:
    mo1, mo2 = _mod(service, "mo1"), _mod(service, "mo2")
    with loopback_client(live_url) as http:
        report_id = _reported(service)
        _claim_and_decide(http, mo1, "restrict_sender")
        [original] = _rows(service)
        filed = http.post(
            "/v1/appeals",
            headers=service.auth(REPORTER),
            json={"report_id": report_id, "reason": "Far too lenient, she threatened me."},
        )
        assert filed.status_code == 201, filed.text
        appeal = filed.json()["appeal_id"]
        assert http.post(f"/v1/review/appeals/{appeal}/claim", headers=mo2).status_code == 200
        done = http.post(
            f"/v1/review/appeals/{appeal}/decision",
            headers=mo2,
            json={"outcome": "reverse", "reason": "a threat needs a harder look"},
        )
        assert done.status_code == 200, done.text
        correction = _check_ended(
            service, http, original, "reopened", "notifier's internal complaint"
        )
        assert {r.id: r.state for r in _rows(service)} == {
            original.id: "withdrawn",
            correction.id: "pending",
        }
    review = service.app.state.review
    assert review.audit_verify().ok


def test_sender_appeal_reversed_says_so(service: Any, live_url: str) -> None:
    mo1, mo2 = _mod(service, "mo1"), _mod(service, "mo2")
    with loopback_client(live_url) as http:
        _reported(service)
        _claim_and_decide(http, mo1, "suspend_sender")
        [original] = _rows(service)
        filed = http.post(
            "/v1/appeals",
            headers=service.auth(SENDER),
            json={"statement_id": original.id, "reason": "it was a joke between friends"},
        )
        assert filed.status_code == 201, filed.text
        appeal = filed.json()["appeal_id"]
        assert http.post(f"/v1/review/appeals/{appeal}/claim", headers=mo2).status_code == 200
        done = http.post(
            f"/v1/review/appeals/{appeal}/decision",
            headers=mo2,
            json={"outcome": "reverse", "reason": "context shows banter"},
        )
        assert done.status_code == 200, done.text
        _check_ended(service, http, original, "appeal", "another moderator reversed")
        assert "reversed on your appeal" in _statements(service, http)[original.id]["summary"]


def test_a_child_safety_report_sending_a_violation_back_ends_its_statement(
    service: Any, live_url: str
) -> None:
    # A new report that sends a decided violation to the child-safety team re-opens the
    # decision (review/requeue.py): its statement ends in the report's transaction.
    mo1 = _mod(service, "mo1")
    with loopback_client(live_url) as http:
        message = service.frank(SENDER, REPORTER, "how old are you")
        first = service.report(REPORTER, [message], reason=Reason.HARASSMENT)
        assert service.submit(REPORTER, first).status_code == 201
        _claim_and_decide(http, mo1, "warn_sender")
        [original] = _rows(service)
        again = service.report(REPORTER, [message], reason=Reason.CHILD_SAFETY)
        assert service.submit(REPORTER, again).status_code == 201
        _check_ended(service, http, original, "reopened", "re-opened for a fresh review")
