"""Reporters' complaints (DSA Art. 20 for notifiers) over real HTTP (uvicorn on
127.0.0.1), on SQLite and PostgreSQL: the reporter complains about the decision on their
own decided report with ``POST /v1/appeals {report_id, reason}``; the decider can never
claim or decide it; another moderator upholds it (the notice says so) or reverses it
(the item goes back to review for a fresh decision, audited in the hash-chained log);
someone else's report is 404, a second complaint and a closed window are 409."""

from __future__ import annotations

from typing import Any

import httpx

from report_service.escalation.appeals.service import APPEAL_WINDOW_MS
from report_service.review.audit.store import AuditFilter
from tests.report_service.conftest import loopback_client
from tests.report_service.escalation.appeal_support import REPORTER, SENDER
from tests.report_service.escalation.appeal_support import claim_and_decide as _claim_and_decide
from tests.report_service.escalation.appeal_support import mod as _mod
from tests.report_service.escalation.appeal_support import reported as _reported

OTHER = "carol"


def _complain(
    service: Any, http: httpx.Client, who: str, report_id: str, reason: str = "It was abuse."
) -> httpx.Response:
    return http.post(
        "/v1/appeals", headers=service.auth(who), json={"report_id": report_id, "reason": reason}
    )


def test_reporter_complaint_reversed_reopens_the_item_for_a_fresh_decision(
    service: Any, live_url: str
) -> None:
    mo1, mo2, mo3 = _mod(service, "mo1"), _mod(service, "mo2"), _mod(service, "mo3")
    events: list[tuple[str, dict[str, object]]] = []
    service.app.state.appeals._events = lambda s, t, d: events.append((t, d))
    with loopback_client(live_url) as http:
        report_id = _reported(service)
        # Not decided yet: nothing to complain about.
        early = _complain(service, http, REPORTER, report_id)
        assert early.status_code == 409
        assert early.json()["error"]["code"] == "not_appealable"
        item = _claim_and_decide(http, mo1, "no_violation")

        status = http.get(f"/v1/reports/{report_id}", headers=service.auth(REPORTER)).json()
        assert "POST /v1/appeals" in status["notice"]
        assert "report_id" in status["notice"]

        # Someone else's report, or an unknown one, is the same 404.
        assert _complain(service, http, OTHER, report_id).status_code == 404
        unknown = _complain(service, http, REPORTER, "00000000-0000-4000-8000-000000000000")
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "not_found"
        assert _complain(service, http, REPORTER, "not-a-uuid").status_code == 404

        filed = _complain(service, http, REPORTER, report_id, "She threatened me.")
        assert filed.status_code == 201, filed.text
        appeal = filed.json()["appeal_id"]
        assert filed.json()["report_id"] == report_id
        assert filed.json()["status"] == "open"
        assert "statement_id" not in filed.json() or filed.json()["statement_id"] is None
        again = _complain(service, http, REPORTER, report_id)
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "appeal_exists"
        # Only the reporter sees their complaint.
        assert http.get(f"/v1/appeals/{appeal}", headers=service.auth(SENDER)).status_code == 404
        status = http.get(f"/v1/reports/{report_id}", headers=service.auth(REPORTER)).json()
        assert f"appeal {appeal}) is being reviewed" in status["notice"]
        assert "POST /v1/appeals" not in status["notice"]

        # The decider can never claim or decide it.
        own = http.post(f"/v1/review/appeals/{appeal}/claim", headers=mo1)
        assert own.status_code == 409
        assert own.json()["error"]["code"] == "decider_excluded"
        nxt = http.post("/v1/review/appeals/claim", headers=mo1)
        assert nxt.json()["error"]["code"] == "queue_empty"
        claimed = http.post("/v1/review/appeals/claim", headers=mo2)
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["appeal_id"] == appeal
        assert claimed.json()["by"] == "reporter"
        assert claimed.json()["statement_id"] is None
        assert claimed.json()["decision"] == "no_violation"
        assert claimed.json()["reason"] == "She threatened me."
        view = http.get(f"/v1/review/appeals/{appeal}/item", headers=mo2)
        assert view.status_code == 200, view.text
        dec = http.post(
            f"/v1/review/appeals/{appeal}/decision",
            headers=mo1,
            json={"outcome": "reverse", "reason": "I changed my mind here"},
        )
        assert dec.json()["error"]["code"] == "decider_excluded"
        done = http.post(
            f"/v1/review/appeals/{appeal}/decision",
            headers=mo2,
            json={"outcome": "reverse", "reason": "the threat is clear in context"},
        )
        assert done.status_code == 200, done.text

        mine = http.get(f"/v1/appeals/{appeal}", headers=service.auth(REPORTER)).json()
        assert mine["status"] == "decided"
        assert mine["outcome"] == "reverse"
        assert mine["outcome_reason"] == "the threat is clear in context"
        assert mine["report_id"] == report_id
        # Re-opened: the report is pending again until a fresh decision.
        status = http.get(f"/v1/reports/{report_id}", headers=service.auth(REPORTER)).json()
        assert status["status"] != "decided"
        assert "notice" not in status
        again = _complain(service, http, REPORTER, report_id)
        assert again.json()["error"]["code"] == "not_appealable"

        assert _claim_and_decide(http, mo3, "suspend_sender") == item
        status = http.get(f"/v1/reports/{report_id}", headers=service.auth(REPORTER)).json()
        assert status["outcome"] == "suspend_sender"
        assert f"appeal {appeal}) was upheld" in status["notice"]
        assert "POST /v1/appeals" in status["notice"]  # the fresh decision can be contested
        # The fresh decision is a decision like any other: the sender gets a statement.
        [st] = http.get("/v1/statements", headers=service.auth(SENDER)).json()["statements"]
        assert st["decision"] == "suspend_sender"

    review = service.app.state.review
    assert review.audit_verify().ok
    actions = [e.action for e in review.audit_entries(AuditFilter(item_id=item, limit=100)).entries]
    assert actions[-7:-2] == ["appeal_file", "appeal_claim", "item_view", "reopen", "appeal_decide"]
    assert actions[-1] == "decide"
    assert [t for t, _ in events] == ["appeal.created", "appeal.decided"]
    assert events[1][1]["outcome"] == "reverse"
    assert all(set(d) <= {"appeal_id", "statement_id", "decision_id", "outcome"} for _, d in events)


def test_reporter_complaint_upheld_window_and_input(service: Any, live_url: str) -> None:
    mo1, mo2 = _mod(service, "mo1"), _mod(service, "mo2")
    with loopback_client(live_url) as http:
        report_id = _reported(service)
        _claim_and_decide(http, mo1, "no_violation")

        for body in (
            {"reason": "neither"},
            {"report_id": report_id, "statement_id": 1, "reason": "both"},
            {"report_id": report_id, "reason": " "},
            {"report_id": report_id, "reason": "x" * 2001},
        ):
            bad = http.post("/v1/appeals", headers=service.auth(REPORTER), json=body)
            assert bad.status_code == 422, (body, bad.text)
            assert "error" in bad.json()
        assert (
            http.post("/v1/appeals", json={"report_id": report_id, "reason": "r"}).status_code
            == 401
        )

        appeal = _complain(service, http, REPORTER, report_id).json()["appeal_id"]
        assert http.post(f"/v1/review/appeals/{appeal}/claim", headers=mo2).status_code == 200
        upheld = http.post(
            f"/v1/review/appeals/{appeal}/decision",
            headers=mo2,
            json={"outcome": "uphold", "reason": "it is banter between friends"},
        )
        assert upheld.status_code == 200, upheld.text
        mine = http.get(f"/v1/appeals/{appeal}", headers=service.auth(REPORTER)).json()
        assert mine["outcome"] == "uphold"
        status = http.get(f"/v1/reports/{report_id}", headers=service.auth(REPORTER)).json()
        assert status["outcome"] == "no_violation"
        assert f"appeal {appeal}) was reviewed by another moderator" in status["notice"]
        assert "POST /v1/appeals" not in status["notice"]  # reviewed once: Art. 21 or a court
        assert "Article 21" in status["notice"]
        # One complaint per reporter and decision.
        twice = _complain(service, http, REPORTER, report_id)
        assert twice.status_code == 409
        assert twice.json()["error"]["code"] == "not_appealable"

        # A second report, decided, then the six months pass.
        late_report = _reported(service)
        _claim_and_decide(http, mo1, "no_violation")
        service.clock.now_ms += APPEAL_WINDOW_MS + 1
        late = _complain(service, http, REPORTER, late_report)
        assert late.status_code == 409
        assert late.json()["error"]["code"] == "appeal_window_closed"
