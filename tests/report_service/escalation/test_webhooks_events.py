"""The service's own events, end to end through ``create_app`` on SQLite and PostgreSQL:
a verified report, a claim and an escalating decision reach a real receiver as signed
``report.created``, ``item.claimed``, ``item.decided`` and ``item.escalated``, carrying ids
and outcomes only; a rejected report and a refused decision announce nothing."""

from __future__ import annotations

import os
from typing import Any

from report_service.escalation.webhooks.deliverer import Deliverer
from report_service.escalation.webhooks.models import WebhookDelivery
from report_service.escalation.webhooks.store import add_endpoint
from tests.report_service.escalation.webhook_receiver import Receiver


def test_report_claim_and_escalation_are_announced(service: Any, receiver: Receiver) -> None:
    app = service.app
    sessions = app.state.session_factory
    with sessions() as session:
        new = add_endpoint(
            session, app.state.keys, receiver.url, ["*"], now_ms=service.clock(), random=os.urandom
        )
    receiver.secret = new.secret
    review = app.state.review
    mod = {"Authorization": f"Bearer {review.add_moderator('test', 'mo', 'moderator').token}"}

    # Refused before anything is stored: no event.
    bad = service.client.post(
        "/v1/reports",
        content=b"not sealed",
        headers={**service.auth("bob"), "Content-Type": "application/octet-stream"},
    )
    assert bad.status_code == 400
    message = service.frank("alice", "bob", "a secret message text")
    report = service.report("bob", [message], comment="private words of the reporter")
    assert service.submit("bob", report).status_code == 201
    claim = service.client.post("/v1/review/queues/general/claim", headers=mod)
    item = claim.json()["item"]["id"]
    refused = service.client.post(
        f"/v1/review/items/{item}/decision",
        headers=mod,
        json={"decision": "no_such_decision", "policy": "tos/1"},
    )
    assert refused.status_code == 422
    decided = service.client.post(
        f"/v1/review/items/{item}/decision",
        headers=mod,
        json={"decision": "escalate_legal", "policy": "legal/1", "note": "a private note"},
    )
    assert decided.status_code == 200, decided.text
    decision_id = decided.json()["decision"]["id"]

    deliverer = Deliverer(sessions, lambda: app.state.keys, clock=service.clock)
    assert len(deliverer.run_once()) == 4
    events = {r.event["type"]: r.event["data"] for r in receiver.received}
    assert all(r.verified for r in receiver.received)
    assert events == {
        "report.created": {
            "report_id": report.report_id,
            "reason": "harassment",
            "item_ids": [item],
        },
        "item.claimed": {
            "item_id": item,
            "queue": "general",
            "moderator": "mo",
            "lease_expires_at": claim.json()["lease"]["expires_at"],
        },
        "item.decided": {
            "item_id": item,
            "decision_id": decision_id,
            "decision": "escalate_legal",
            "policy": "legal/1",
            "outcome": "escalate_legal",
            "status": "decided",
            "queue": "general",
            "moderator": "mo",
        },
        "item.escalated": {
            "item_id": item,
            "decision_id": decision_id,
            "decision": "escalate_legal",
            "policy": "legal/1",
            "outcome": "escalate_legal",
            "status": "decided",
            "queue": "general",
            "moderator": "mo",
            "escalated_to": "legal",
        },
    }
    for r in receiver.received:  # ids and outcomes only: no content, note or comment
        for words in (b"secret message", b"private words", b"private note", b"bob"):
            assert words not in r.body
    with sessions() as session:
        assert session.query(WebhookDelivery).count() == 4


def test_without_endpoints_nothing_is_queued(service: Any) -> None:
    message = service.frank("alice", "bob", "hello")
    assert service.submit("bob", service.report("bob", [message])).status_code == 201
    with service.app.state.session_factory() as session:
        assert session.query(WebhookDelivery).count() == 0
