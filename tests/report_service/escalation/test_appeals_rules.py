"""Appeal rules on SQLite and PostgreSQL: the six-month window, no appeal against a
reversed statement, a lapsed reviewer lease can be taken over (never by the decider),
child-safety appeals only for the child-safety role, and typed errors for bad input."""

from __future__ import annotations

from typing import Any

from client_scan.report_format import Reason
from report_service.escalation.appeals.service import APPEAL_WINDOW_MS
from report_service.review.queue.leases import DEFAULT_LEASE_MS
from tests.report_service.escalation.appeal_support import mod as _mod


def _decided(
    service: Any, mod: dict[str, str], queue: str = "general", reason: Reason = Reason.HARASSMENT
) -> int:
    msg = service.frank("alice", "bob", "words")
    assert service.submit("bob", service.report("bob", [msg], reason=reason)).status_code == 201
    item = service.client.post(f"/v1/review/queues/{queue}/claim", headers=mod).json()["item"]
    r = service.client.post(
        f"/v1/review/items/{item['id']}/decision",
        headers=mod,
        json={"decision": "restrict_sender", "policy": "harassment/2"},
    )
    assert r.status_code == 200, r.text
    [st] = service.client.get("/v1/statements", headers=service.auth("alice")).json()["statements"]
    return int(st["statement_id"])


def _appeal(service: Any, statement: int, reason: str = "please look again") -> Any:
    return service.client.post(
        "/v1/appeals",
        headers=service.auth("alice"),
        json={"statement_id": statement, "reason": reason},
    )


def test_window_reversal_takeover_and_input(service: Any) -> None:
    mo1, mo2, mo3 = _mod(service, "mo1"), _mod(service, "mo2"), _mod(service, "mo3")
    statement = _decided(service, mo1)
    for body in (
        {"statement_id": statement, "reason": "   "},
        {"statement_id": statement},
        {"statement_id": 0, "reason": "x"},
        {"statement_id": statement, "reason": "x", "extra": 1},
    ):
        r = service.client.post("/v1/appeals", headers=service.auth("alice"), json=body)
        assert r.status_code == 422, body
    assert _appeal(service, 999_999).status_code == 404

    appeal = _appeal(service, statement).json()["appeal_id"]
    assert service.client.post(f"/v1/review/appeals/{appeal}/claim", headers=mo2).status_code == 200
    held = service.client.post(f"/v1/review/appeals/{appeal}/claim", headers=mo3)
    assert held.status_code == 409
    assert held.json()["error"]["code"] == "invalid_state"
    service.clock.now_ms += DEFAULT_LEASE_MS + 1
    # mo2's lease lapsed: mo3 takes it over; mo2 can no longer decide; mo1 never can.
    taken = service.client.post("/v1/review/appeals/claim", headers=mo3)
    assert taken.status_code == 200
    assert taken.json()["claimed_by"] == "mo3"
    late = service.client.post(
        f"/v1/review/appeals/{appeal}/decision",
        headers=mo2,
        json={"outcome": "reverse", "reason": "my lease ran out"},
    )
    assert late.json()["error"]["code"] == "lease_required"
    bad = service.client.post(
        f"/v1/review/appeals/{appeal}/decision",
        headers=mo3,
        json={"outcome": "maybe", "reason": "not an outcome at all"},
    )
    assert bad.status_code == 422
    short = service.client.post(
        f"/v1/review/appeals/{appeal}/decision",
        headers=mo3,
        json={"outcome": "reverse", "reason": "short"},
    )
    assert short.status_code == 422
    done = service.client.post(
        f"/v1/review/appeals/{appeal}/decision",
        headers=mo3,
        json={"outcome": "reverse", "reason": "not harassment at all"},
    )
    assert done.status_code == 200
    again = service.client.post(
        f"/v1/review/appeals/{appeal}/decision",
        headers=mo3,
        json={"outcome": "uphold", "reason": "changed my mind now"},
    )
    assert again.json()["error"]["code"] == "invalid_state"

    # The reversed statement cannot be appealed again, nor its correction.
    gone = _appeal(service, statement)
    assert gone.status_code == 409
    assert gone.json()["error"]["code"] == "not_appealable"
    statements = service.client.get("/v1/statements", headers=service.auth("alice")).json()
    correction = next(s for s in statements["statements"] if s["kind"] == "correction")
    assert correction["appealable_until"] is None
    assert _appeal(service, correction["statement_id"]).json()["error"]["code"] == "not_appealable"
    listed = service.client.get("/v1/review/appeals?all=true", headers=mo1).json()["appeals"]
    assert [(a["appeal_id"], a["outcome"], a["decided_by"]) for a in listed] == [
        (appeal, "reverse", "mo1")
    ]


def test_the_window_closes_after_six_months(service: Any) -> None:
    mo1 = _mod(service, "mo1")
    statement = _decided(service, mo1)
    service.clock.now_ms += APPEAL_WINDOW_MS + 1
    late = _appeal(service, statement)
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "appeal_window_closed"


def test_child_safety_appeals_are_for_the_child_safety_role(service: Any) -> None:
    cs1, cs2 = _mod(service, "cs1", "child_safety"), _mod(service, "cs2", "child_safety")
    mod, lead = _mod(service, "mo"), _mod(service, "lead", "lead")
    statement = _decided(service, cs1, queue="child_safety", reason=Reason.CHILD_SAFETY)
    [st] = service.client.get("/v1/statements", headers=service.auth("alice")).json()["statements"]
    tdb = st["transparency_database"]
    assert tdb["category"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    assert tdb["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    appeal = _appeal(service, statement).json()["appeal_id"]
    for other in (mod, lead):
        assert service.client.get("/v1/review/appeals", headers=other).json() == {"appeals": []}
        assert (
            service.client.post(f"/v1/review/appeals/{appeal}/claim", headers=other).status_code
            == 404
        )
        assert service.client.post("/v1/review/appeals/claim", headers=other).status_code == 404
    auditor = _mod(service, "au", "auditor")
    assert service.client.get("/v1/review/appeals", headers=auditor).status_code == 403
    assert service.client.post(f"/v1/review/appeals/{appeal}/claim", headers=cs2).status_code == 200


def test_a_failing_statement_hook_undoes_the_decision(service: Any) -> None:
    from sqlalchemy import func, select

    from report_service.escalation.dsa.models import StatementRow
    from report_service.review.models import DecisionRow

    def broken(session: Any, decision: Any, item: Any) -> None:
        raise RuntimeError("statement store down")

    review = service.app.state.review
    review._decision_hooks = (*review._decision_hooks, broken)
    mo = _mod(service, "mo1")
    msg = service.frank("alice", "bob", "words")
    assert service.submit("bob", service.report("bob", [msg])).status_code == 201
    item = service.client.post("/v1/review/queues/general/claim", headers=mo).json()["item"]
    r = service.client.post(
        f"/v1/review/items/{item['id']}/decision",
        headers=mo,
        json={"decision": "warn_sender", "policy": "harassment/2"},
    )
    assert r.status_code == 500
    with service.app.state.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(DecisionRow)) == 0
        assert session.scalar(select(func.count()).select_from(StatementRow)) == 0
    claims = service.client.get("/v1/review/claims", headers=mo).json()["claims"]
    assert [c["item"]["id"] for c in claims] == [item["id"]]  # still held, undecided
