"""The demo's verifying receiver over real HTTP: accepts a signed event once per
webhook-id, refuses unsigned, altered, stale and oversized requests."""

from __future__ import annotations

import httpx

from report_service.escalation.webhooks.payload import encode_body
from report_service.escalation.webhooks.receiver import MAX_BODY_BYTES, VerifyingReceiver
from report_service.escalation.webhooks.signing import headers
from report_service.server import BackgroundServer

NOW = 1_767_225_600


def test_the_verifying_receiver() -> None:
    key = b"\x05" * 32
    receiver = VerifyingReceiver(key, lambda: NOW)
    body = encode_body("item.claimed", {"item_id": 3}, NOW * 1000)
    signed = headers(key, "msg_a", NOW, body)
    with BackgroundServer(receiver.app()) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.post("/x", content=body, headers=signed).status_code == 204
        assert client.post("/x", content=body, headers=signed).status_code == 204  # repeat
        assert client.post("/x", content=body).status_code == 400
        assert client.post("/x", content=body + b" ", headers=signed).status_code == 400
        stale = headers(key, "msg_b", NOW - 301, body)
        assert client.post("/x", content=body, headers=stale).status_code == 400
        big = b"x" * (MAX_BODY_BYTES + 1)
        assert (
            client.post("/x", content=big, headers=headers(key, "msg_c", NOW, big)).status_code
            == 413
        )
    assert receiver.ids == ["msg_a"]
    assert receiver.events == [
        {"type": "item.claimed", "timestamp": "2026-01-01T00:00:00.000Z", "data": {"item_id": 3}}
    ]
    assert receiver.refused == 3
