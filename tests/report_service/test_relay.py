"""The reference relay: stamps verify, inbox delivers once, TTL expires, bad input is 4xx."""

from __future__ import annotations

import base64

from client_scan.franking.commitment import commit, new_franking_key
from client_scan.franking.envelope import open_envelope, seal_envelope_random
from client_scan.franking.message import FrankedMessage
from client_scan.franking.payload import encode_payload
from client_scan.franking.stamp import verify_stamp

from .conftest import Service, b64


def send(service: Service, sender: str, recipient: str, ciphertext: bytes, c: bytes) -> dict:  # type: ignore[type-arg]
    response = service.client.post(
        "/v1/relay/messages",
        json={
            "recipient_id": recipient,
            "conversation_id": "alice-bob",
            "ciphertext": b64(ciphertext),
            "commitment": b64(c),
        },
        headers=service.auth(sender),
    )
    assert response.status_code == 200, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


def test_relayed_message_verifies_and_is_delivered_once(service: Service) -> None:
    session_key = bytes(range(32))
    payload = encode_payload("hi bob")
    fk = new_franking_key()
    c = commit(fk, payload.raw)
    ciphertext = seal_envelope_random(session_key, fk, payload.raw, c)
    receipt = send(service, "alice", "bob", ciphertext, c)
    assert set(receipt) == {"message_id", "stamp", "key_id", "timestamp_ms"}
    assert receipt["timestamp_ms"] == service.clock()

    inbox = service.client.get("/v1/relay/inbox", headers=service.auth("bob")).json()
    [delivery] = inbox["deliveries"]
    assert delivery["message_id"] == receipt["message_id"]
    assert delivery["stamp"] == receipt["stamp"]
    assert delivery["sender_id"] == "alice"
    got_fk, got_p = open_envelope(
        session_key,
        base64.b64decode(delivery["ciphertext"]),
        base64.b64decode(delivery["commitment"]),
    )
    message = FrankedMessage(
        payload=got_p,
        franking_key=got_fk,
        commitment=base64.b64decode(delivery["commitment"]),
        stamp=base64.b64decode(delivery["stamp"]),
        key_id=delivery["key_id"],
        sender_id=delivery["sender_id"],
        recipient_id=delivery["recipient_id"],
        conversation_id=delivery["conversation_id"],
        timestamp_ms=delivery["timestamp_ms"],
    )
    verify_stamp(service.keyring, message, service.clock())
    again = service.client.get("/v1/relay/inbox", headers=service.auth("bob")).json()
    assert again == {"deliveries": []}
    assert service.client.get("/v1/relay/inbox", headers=service.auth("alice")).json() == {
        "deliveries": []
    }


def test_undelivered_messages_expire(service: Service) -> None:
    send(service, "alice", "bob", b"x", bytes(32))
    service.clock.now_ms += service.app.state.settings.relay_ttl_ms + 1
    assert service.client.get("/v1/relay/inbox", headers=service.auth("bob")).json() == {
        "deliveries": []
    }


def test_relay_rejects_bad_input(sqlite_service: Service) -> None:
    s = sqlite_service

    def post(body: object, user: str = "alice") -> tuple[int, str]:
        r = s.client.post("/v1/relay/messages", json=body, headers=s.auth(user))
        return r.status_code, r.json()["error"]["code"]

    ok = {
        "recipient_id": "bob",
        "conversation_id": "c",
        "ciphertext": "AA==",
        "commitment": b64(bytes(32)),
    }
    assert post({**ok, "recipient_id": "nobody"}) == (422, "unknown_recipient")
    assert post({**ok, "commitment": b64(bytes(31))}) == (400, "invalid_commitment")
    assert post({**ok, "ciphertext": "!!"}) == (400, "invalid_base64")
    assert post({**ok, "extra": 1}) == (422, "invalid_request")
    assert post([1, 2]) == (422, "invalid_request")
    r = s.client.post("/v1/relay/messages", json=ok)
    assert r.status_code == 401
    r = s.client.post(
        "/v1/relay/messages",
        content=b"{not json",
        headers={**s.auth("alice"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"
