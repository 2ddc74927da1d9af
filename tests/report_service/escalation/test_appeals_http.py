"""Statements of reasons, notices and appeals through the whole service over real HTTP
(uvicorn on 127.0.0.1), on SQLite and PostgreSQL: a decision produces a statement without
personal data; the reporter's status carries a plain-words notice; the sender sees the
statement and appeals; the decider can never claim or decide the appeal; another
moderator reverses it, which is recorded on the item, audited, visible to the appellant,
and produces a corrected statement for the EU database."""

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
from tests.report_service.escalation.appeal_support import mod as _mod


def _decide(
    service: Any, http: httpx.Client, mod: dict[str, str], decision: str
) -> tuple[str, int]:
    msg = service.frank(SENDER, REPORTER, "a very distinctive abusive sentence")
    report = service.report(REPORTER, [msg], reason=Reason.HARASSMENT, comment="she hurt me")
    assert service.submit(REPORTER, report).status_code == 201
    item = http.post("/v1/review/queues/general/claim", headers=mod).json()["item"]["id"]
    r = http.post(
        f"/v1/review/items/{item}/decision",
        headers=mod,
        json={"decision": decision, "policy": "harassment/1.2", "note": "alice again"},
    )
    assert r.status_code == 200, r.text
    return report.report_id, item


def test_statement_notice_and_appeal_reversed_by_another_moderator(
    service: Any, live_url: str
) -> None:
    mo1 = _mod(service, "mo1")
    mo2 = _mod(service, "mo2")
    with loopback_client(live_url) as http:
        report_id, item = _decide(service, http, mo1, "suspend_sender")

        # The reporter's status keeps its contract and adds a plain-words notice.
        status = http.get(f"/v1/reports/{report_id}", headers=service.auth(REPORTER)).json()
        assert status["status"] == "decided"
        assert status["outcome"] == "suspend_sender"
        notice = status["notice"]
        assert "harassment/1.2" in notice
        assert "suspension of the account" in notice
        assert "Article 20" in notice
        assert "Article 21" in notice
        assert SENDER not in notice
        assert "alice again" not in notice

        # The stored DSA copy holds no personal data and passes the API's validation.
        with service.app.state.session_factory() as session:
            [row] = session.scalars(select(StatementRow)).all()
            payload = json.loads(row.payload)
        assert validate_statement(payload) == {}
        assert payload["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
        assert payload["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
        flat = row.payload
        for secret in (
            SENDER,
            REPORTER,
            "distinctive",
            "she hurt me",
            "alice again",
            "conv-1",
            "mo1",
        ):
            assert secret not in flat

        # Only the sender sees it; the reporter has none.
        assert http.get("/v1/statements", headers=service.auth(REPORTER)).json() == {
            "statements": []
        }
        [st] = http.get("/v1/statements", headers=service.auth(SENDER)).json()["statements"]
        assert st["standing"] is True
        assert st["message_id"]
        assert st["message_at"]
        assert st["transparency_database"] == payload
        assert http.get("/v1/statements").status_code == 401

        # Appeals: typed errors for bad input, someone else's statement, duplicates.
        bad = http.post(
            "/v1/appeals",
            headers=service.auth(SENDER),
            json={"statement_id": st["statement_id"], "reason": "x" * 2001},
        )
        assert bad.status_code == 422
        other = http.post(
            "/v1/appeals",
            headers=service.auth(REPORTER),
            json={"statement_id": st["statement_id"], "reason": "not mine"},
        )
        assert other.status_code == 404
        filed = http.post(
            "/v1/appeals",
            headers=service.auth(SENDER),
            json={"statement_id": st["statement_id"], "reason": "It was a joke."},
        )
        assert filed.status_code == 201, filed.text
        appeal = filed.json()["appeal_id"]
        again = http.post(
            "/v1/appeals",
            headers=service.auth(SENDER),
            json={"statement_id": st["statement_id"], "reason": "again"},
        )
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "appeal_exists"
        assert http.get(f"/v1/appeals/{appeal}", headers=service.auth(REPORTER)).status_code == 404

        # The decider can never claim or decide it.
        own = http.post(f"/v1/review/appeals/{appeal}/claim", headers=mo1)
        assert own.status_code == 409
        assert own.json()["error"]["code"] == "decider_excluded"
        nxt = http.post("/v1/review/appeals/claim", headers=mo1)
        assert nxt.status_code == 404
        assert nxt.json()["error"]["code"] == "queue_empty"
        claimed = http.post("/v1/review/appeals/claim", headers=mo2)
        assert claimed.status_code == 200
        assert claimed.json()["appeal_id"] == appeal
        assert claimed.json()["reason"] == "It was a joke."
        # The reviewer holding the appeal sees the evidence; the decider and others not.
        view = http.get(f"/v1/review/appeals/{appeal}/item", headers=mo2)
        assert view.status_code == 200, view.text
        assert view.json()["verified"]["message"]["text"] == "a very distinctive abusive sentence"
        own_view = http.get(f"/v1/review/appeals/{appeal}/item", headers=mo1)
        assert own_view.json()["error"]["code"] == "decider_excluded"
        mo3 = _mod(service, "mo3")
        assert http.get(f"/v1/review/appeals/{appeal}/item", headers=mo3).status_code == 409
        dec = http.post(
            f"/v1/review/appeals/{appeal}/decision",
            headers=mo1,
            json={"outcome": "reverse", "reason": "I changed my mind here"},
        )
        assert dec.status_code == 409
        assert dec.json()["error"]["code"] == "decider_excluded"
        done = http.post(
            f"/v1/review/appeals/{appeal}/decision",
            headers=mo2,
            json={"outcome": "reverse", "reason": "context shows banter"},
        )
        assert done.status_code == 200, done.text

        mine = http.get(f"/v1/appeals/{appeal}", headers=service.auth(SENDER)).json()
        assert mine["status"] == "decided"
        assert mine["outcome"] == "reverse"
        assert mine["outcome_reason"] == "context shows banter"
        status = http.get(f"/v1/reports/{report_id}", headers=service.auth(REPORTER)).json()
        assert status["outcome"] == "no_violation"
        assert "does not break" in status["notice"]

        statements = http.get("/v1/statements", headers=service.auth(SENDER)).json()
        by_kind = {s["kind"]: s for s in statements["statements"]}
        assert by_kind["decision"]["standing"] is False
        correction = by_kind["correction"]["transparency_database"]
        assert validate_statement(correction) == {}
        assert correction["end_date_account_restriction"] == correction["application_date"]
        assert correction["puid"] != payload["puid"]

    with service.app.state.session_factory() as session:
        states = {r.kind: r.state for r in session.scalars(select(StatementRow))}
    assert states == {"decision": "withdrawn", "correction": "pending"}
    review = service.app.state.review
    assert review.audit_verify().ok
    from report_service.review.audit.store import AuditFilter

    actions = [e.action for e in review.audit_entries(AuditFilter(item_id=item, limit=100)).entries]
    assert actions[-5:] == ["appeal_file", "appeal_claim", "item_view", "decide", "appeal_decide"]


def test_no_violation_has_no_statement_and_upheld_appeal_keeps_it(
    service: Any, live_url: str
) -> None:
    mo1 = _mod(service, "mo1")
    mo2 = _mod(service, "mo2")
    events: list[tuple[str, dict[str, object]]] = []
    service.app.state.appeals._events = lambda s, t, d: events.append((t, d))
    with loopback_client(live_url) as http:
        _decide(service, http, mo1, "no_violation")
        assert http.get("/v1/statements", headers=service.auth(SENDER)).json() == {"statements": []}
        _decide(service, http, mo1, "warn_sender")
        [st] = http.get("/v1/statements", headers=service.auth(SENDER)).json()["statements"]
        appeal = http.post(
            "/v1/appeals",
            headers=service.auth(SENDER),
            json={"statement_id": st["statement_id"], "reason": "unfair"},
        ).json()
        assert (
            http.post(f"/v1/review/appeals/{appeal['appeal_id']}/claim", headers=mo2).status_code
            == 200
        )
        up = http.post(
            f"/v1/review/appeals/{appeal['appeal_id']}/decision",
            headers=mo2,
            json={"outcome": "uphold", "reason": "the warning was right"},
        )
        assert up.status_code == 200
        [still] = http.get("/v1/statements", headers=service.auth(SENDER)).json()["statements"]
        assert still["standing"] is True
        # One internal review per decision: after it, out-of-court bodies or courts.
        twice = http.post(
            "/v1/appeals",
            headers=service.auth(SENDER),
            json={"statement_id": st["statement_id"], "reason": "unfair again"},
        )
        assert twice.status_code == 409
        assert twice.json()["error"]["code"] == "not_appealable"
    assert [t for t, _ in events] == ["appeal.created", "appeal.decided"]
    assert all(set(d) <= {"appeal_id", "statement_id", "outcome"} for _, d in events)
