"""New reports about an item that was already decided, over HTTP through the whole
service (``create_app``: real intake, real review API), on SQLite and PostgreSQL.

Policy (docs/review.md, "New reports about decided items"): after ``no_violation`` a new
reporter's report sends the item back to its queue, audited as ``item_requeue`` by the
system; after a violation the item stays decided and the new reporter sees the outcome,
unless the report makes it a child-safety item; while the item is claimed the report only
counts the reporter.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from client_scan.franking.message import FrankedMessage
from client_scan.franking.stamp import stamp
from client_scan.report_format import Reason
from report_service.priority import priority
from report_service.review.decisions.requeue import SYSTEM_ACTOR
from report_service.review.decisions.taxonomy import REQUEUE_CHILD_SAFETY, REQUEUE_CLEARED

POLICY = "harassment/1.2"


def _for(service: Any, message: FrankedMessage, recipient: str) -> FrankedMessage:
    """The same message (same commitment) as the platform stamps it for another member
    of the group."""
    st = stamp(
        service.keyring,
        message.commitment,
        message.sender_id,
        recipient,
        message.conversation_id,
        message.timestamp_ms,
    )
    return dataclasses.replace(message, recipient_id=recipient, stamp=st.tag, key_id=st.key_id)


def _accounts(service: Any) -> dict[str, dict[str, str]]:
    review = service.app.state.review
    return {
        role: {"Authorization": f"Bearer {review.add_moderator('test', role, role).token}"}
        for role in ("moderator", "child_safety", "auditor")
    }


def _report(
    service: Any, reporter: str, message: FrankedMessage, reason: Reason = Reason.HARASSMENT
) -> str:
    report = service.report(reporter, [_for(service, message, reporter)], reason=reason)
    r = service.submit(reporter, report)
    assert r.status_code == 201, r.text
    return str(report.report_id)


def _status(service: Any, reporter: str, report_id: str) -> dict[str, Any]:
    r = service.client.get(f"/v1/reports/{report_id}", headers=service.auth(reporter))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    # A decided report also carries a plain-words notice (tested in tests/report_service/
    # escalation); these tests are about status and outcome.
    assert ("notice" in body) == (body["status"] == "decided")
    body.pop("notice", None)
    return body


def _decide(service: Any, headers: dict[str, str], decision: str, queue: str = "general") -> int:
    claim = service.client.post(f"/v1/review/queues/{queue}/claim", headers=headers)
    assert claim.status_code == 200, claim.text
    item: int = claim.json()["item"]["id"]
    r = service.client.post(
        f"/v1/review/items/{item}/decision",
        headers=headers,
        json={"decision": decision, "policy": POLICY},
    )
    assert r.status_code == 200, r.text
    return item


def _audit(service: Any, auditor: dict[str, str], item: int) -> list[dict[str, Any]]:
    r = service.client.get("/v1/audit", params={"item": item}, headers=auditor)
    entries: list[dict[str, Any]] = r.json()["entries"]
    return entries


def test_a_new_report_after_no_violation_sends_the_item_back_to_review(service: Any) -> None:
    acc = _accounts(service)
    mod, aud = acc["moderator"], acc["auditor"]
    service.add_user("dave")
    message = service.frank("alice", "bob", "you will regret this")
    bob_report = _report(service, "bob", message)
    item = _decide(service, mod, "no_violation")
    assert _status(service, "bob", bob_report) == {
        "report_id": bob_report,
        "status": "decided",
        "outcome": "no_violation",
    }

    # The same reporter again: counted once, nothing changes, the outcome stands.
    again = _report(service, "bob", message)
    assert _status(service, "bob", again)["outcome"] == "no_violation"
    assert service.client.post("/v1/review/queues/general/claim", headers=mod).status_code == 404

    # Another recipient reports it: the item is back in its queue.
    carol_report = _report(service, "carol", message)
    assert _status(service, "carol", carol_report) == {
        "report_id": carol_report,
        "status": "received",
    }
    assert _status(service, "bob", bob_report) == {"report_id": bob_report, "status": "received"}
    queues = service.client.get("/v1/review/queues", headers=mod).json()["queues"]
    assert queues[0]["queue"] == "general"
    assert queues[0]["depth"] == 1
    assert queues[0]["top_priority"] == priority("harassment", 0, 2)

    entries = _audit(service, aud, item)
    assert [e["action"] for e in entries] == ["claim", "decide", "item_requeue"]
    requeue = entries[-1]
    assert requeue["actor"] == SYSTEM_ACTOR
    assert requeue["detail"] == {
        "reason": REQUEUE_CLEARED,
        "decision_id": entries[1]["detail"]["decision_id"],
        "report_id": carol_report,
        "queue": "general",
        "priority": priority("harassment", 0, 2),
        "reporter_count": 2,
    }
    assert service.client.get("/v1/audit/verify", headers=aud).json()["ok"] is True

    # The next moderator sees the earlier decision in the history, marked reopened.
    claim = service.client.post("/v1/review/queues/general/claim", headers=mod).json()
    assert claim["item"]["id"] == item
    assert (claim["item"]["status"], claim["item"]["reporter_count"]) == ("claimed", 2)
    detail = service.client.get(f"/v1/review/items/{item}", headers=mod).json()
    [earlier] = detail["decisions"]
    assert earlier["decision"] == "no_violation"
    assert (earlier["reopened_by"], earlier["reopen_reason"]) == (SYSTEM_ACTOR, REQUEUE_CLEARED)
    assert sorted(c["reporter_id"] for c in detail["reporter_claims"]) == ["bob", "bob", "carol"]
    r = service.client.post(
        f"/v1/review/items/{item}/decision",
        headers=mod,
        json={"decision": "warn_sender", "policy": POLICY},
    )
    assert r.status_code == 200, r.text
    for reporter, report_id in (("bob", bob_report), ("carol", carol_report)):
        assert _status(service, reporter, report_id)["outcome"] == "warn_sender"

    # After a violation a new reporter sees the outcome at once; nothing is requeued.
    dave_report = _report(service, "dave", message)
    assert _status(service, "dave", dave_report) == {
        "report_id": dave_report,
        "status": "decided",
        "outcome": "warn_sender",
    }
    actions = [e["action"] for e in _audit(service, aud, item)]
    assert actions.count("item_requeue") == 1
    assert service.client.post("/v1/review/queues/general/claim", headers=mod).status_code == 404


@pytest.mark.parametrize(
    "decision", ["warn_sender", "restrict_sender", "suspend_sender", "escalate_legal"]
)
def test_after_a_violation_the_new_reporter_sees_the_outcome(service: Any, decision: str) -> None:
    acc = _accounts(service)
    message = service.frank("alice", "bob", "pay me or else")
    _report(service, "bob", message)
    item = _decide(service, acc["moderator"], decision)
    carol_report = _report(service, "carol", message)
    assert _status(service, "carol", carol_report) == {
        "report_id": carol_report,
        "status": "decided",
        "outcome": decision,
    }
    lead = service.app.state.review.add_moderator("test", "lead", "lead").token
    detail = service.client.get(
        f"/v1/review/items/{item}", headers={"Authorization": f"Bearer {lead}"}
    ).json()
    assert (detail["item"]["status"], detail["item"]["reporter_count"]) == ("decided", 2)
    assert [d["reopened_at"] for d in detail["decisions"]] == [None]
    assert "item_requeue" not in [e["action"] for e in _audit(service, acc["auditor"], item)]


def test_a_report_while_the_item_is_claimed_only_counts_the_reporter(service: Any) -> None:
    acc = _accounts(service)
    mod = acc["moderator"]
    message = service.frank("alice", "bob", "hello again")
    bob_report = _report(service, "bob", message)
    claim = service.client.post("/v1/review/queues/general/claim", headers=mod).json()
    item = claim["item"]["id"]
    carol_report = _report(service, "carol", message)
    held = service.client.get("/v1/review/claims", headers=mod).json()["claims"]
    assert [(c["item"]["id"], c["item"]["status"], c["item"]["reporter_count"]) for c in held] == [
        (item, "claimed", 2)
    ]
    assert held[0]["lease"] == claim["lease"]
    r = service.client.post(
        f"/v1/review/items/{item}/decision",
        headers=mod,
        json={"decision": "no_violation", "policy": POLICY},
    )
    assert r.status_code == 200, r.text
    for reporter, report_id in (("bob", bob_report), ("carol", carol_report)):
        assert _status(service, reporter, report_id)["outcome"] == "no_violation"
    actions = [e["action"] for e in _audit(service, acc["auditor"], item)]
    assert actions == ["claim", "decide"]


def test_a_child_safety_report_after_no_violation_requeues_to_child_safety(
    service: Any,
) -> None:
    acc = _accounts(service)
    mod, cs = acc["moderator"], acc["child_safety"]
    message = service.frank("alice", "bob", "send me a picture")
    _report(service, "bob", message)
    item = _decide(service, mod, "no_violation")
    carol_report = _report(service, "carol", message, Reason.CHILD_SAFETY)
    assert _status(service, "carol", carol_report)["status"] == "received"
    # Now a child-safety item: gone for the general moderator, queued for child safety.
    assert service.client.get(f"/v1/review/items/{item}", headers=mod).status_code == 404
    assert service.client.post("/v1/review/queues/general/claim", headers=mod).status_code == 404
    claim = service.client.post("/v1/review/queues/child_safety/claim", headers=cs).json()
    assert (claim["item"]["id"], claim["item"]["queue"]) == (item, "child_safety")
    [entry] = [e for e in _audit(service, acc["auditor"], item) if e["action"] == "item_requeue"]
    assert entry["detail"]["queue"] == "child_safety"


@pytest.mark.parametrize("decision", ["warn_sender", "no_violation"])
def test_a_first_child_safety_report_after_a_general_decision_goes_to_child_safety(
    service: Any, decision: str
) -> None:
    # A general moderator's decision is not the child-safety team's: even after a
    # violation, and even from a reporter already counted, the item goes to them once.
    acc = _accounts(service)
    mod, cs = acc["moderator"], acc["child_safety"]
    message = service.frank("alice", "bob", "how old are you")
    _report(service, "bob", message)
    item = _decide(service, mod, decision)
    again = _report(service, "bob", message, Reason.CHILD_SAFETY)
    assert _status(service, "bob", again) == {"report_id": again, "status": "received"}
    claim = service.client.post("/v1/review/queues/child_safety/claim", headers=cs).json()
    assert (claim["item"]["id"], claim["item"]["queue"]) == (item, "child_safety")
    [entry] = [e for e in _audit(service, acc["auditor"], item) if e["action"] == "item_requeue"]
    assert entry["detail"]["reason"] == REQUEUE_CHILD_SAFETY
    # Decided by child safety, another child-safety report does not requeue it again.
    r = service.client.post(
        f"/v1/review/items/{item}/decision",
        headers=cs,
        json={"decision": "suspend_sender", "policy": POLICY},
    )
    assert r.status_code == 200, r.text
    third = _report(service, "bob", message, Reason.CHILD_SAFETY)
    assert _status(service, "bob", third)["outcome"] == "suspend_sender"
