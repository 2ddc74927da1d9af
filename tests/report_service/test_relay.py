"""The reference relay: stamps verify, the inbox keeps deliveries until acknowledged, sends
are idempotent by client id, quotas answer 429, pages are bounded, TTL expires, bad input
is 4xx."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from client_scan.franking.commitment import commit, new_franking_key
from client_scan.franking.envelope import open_envelope, seal_envelope_random
from client_scan.franking.message import FrankedMessage
from client_scan.franking.payload import encode_payload
from client_scan.franking.stamp import verify_stamp
from report_service.keys import KeyMaterial
from report_service.server import BackgroundServer

from .conftest import FakeClock, Service, b64, loopback_client, make_service


def post_send(
    service: Service,
    sender: str,
    recipient: str,
    ciphertext: bytes,
    c: bytes,
    client_message_id: str | None = None,
) -> httpx.Response:
    body = {
        "recipient_id": recipient,
        "conversation_id": "alice-bob",
        "ciphertext": b64(ciphertext),
        "commitment": b64(c),
    }
    if client_message_id is not None:
        body["client_message_id"] = client_message_id
    return service.client.post("/v1/relay/messages", json=body, headers=service.auth(sender))


def send(
    service: Service,
    sender: str,
    recipient: str,
    ciphertext: bytes,
    c: bytes,
    client_message_id: str | None = None,
) -> dict:  # type: ignore[type-arg]
    response = post_send(service, sender, recipient, ciphertext, c, client_message_id)
    assert response.status_code == 200, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


def inbox(service: Service, user: str, **params: object) -> dict:  # type: ignore[type-arg]
    response = service.client.get("/v1/relay/inbox", headers=service.auth(user), params=params)
    assert response.status_code == 200, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


def ack(service: Service, user: str, ids: list[str]) -> int:
    response = service.client.post(
        "/v1/relay/inbox/ack", json={"message_ids": ids}, headers=service.auth(user)
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"acknowledged"}
    return int(response.json()["acknowledged"])


def test_relayed_message_verifies_and_stays_until_acknowledged(service: Service) -> None:
    session_key = bytes(range(32))
    payload = encode_payload("hi bob")
    fk = new_franking_key()
    c = commit(fk, payload.raw)
    ciphertext = seal_envelope_random(session_key, fk, payload.raw, c)
    receipt = send(service, "alice", "bob", ciphertext, c)
    assert set(receipt) == {"message_id", "stamp", "key_id", "timestamp_ms"}
    assert receipt["timestamp_ms"] == service.clock()

    [delivery] = inbox(service, "bob")["deliveries"]
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
    # a fetch removes nothing: the answer may be lost on the way
    assert inbox(service, "bob") == {"deliveries": [delivery]}
    assert inbox(service, "alice") == {"deliveries": []}
    # only the recipient can acknowledge; others' acks remove nothing
    assert ack(service, "alice", [delivery["message_id"]]) == 0
    assert ack(service, "carol", [delivery["message_id"]]) == 0
    assert inbox(service, "bob") == {"deliveries": [delivery]}
    assert ack(service, "bob", [delivery["message_id"], "unknown-id"]) == 1
    assert inbox(service, "bob") == {"deliveries": []}
    assert ack(service, "bob", [delivery["message_id"]]) == 0  # repeating is harmless


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


def test_a_revoked_recipient_gets_nothing_queued(service: Service) -> None:
    # A revoked user can never fetch or acknowledge: queueing for it would only fill its
    # inbox quota with ciphertext nobody will read until the TTL.
    from report_service.storage.users import revoke

    with service.app.state.session_factory.begin() as session:
        revoke(session, "bob", service.clock())
    ok = {
        "recipient_id": "bob",
        "conversation_id": "c",
        "ciphertext": "AA==",
        "commitment": b64(bytes(32)),
    }
    r = service.client.post("/v1/relay/messages", json=ok, headers=service.auth("alice"))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "unknown_recipient")
    r = service.client.post(
        "/v1/relay/messages", json={**ok, "recipient_id": "carol"}, headers=service.auth("alice")
    )
    assert r.status_code == 200


def test_a_send_repeated_under_its_client_id_returns_the_first_stamp(service: Service) -> None:
    cid = str(uuid.uuid4())
    first = send(service, "alice", "bob", b"ct", bytes(32), cid)
    service.clock.now_ms += 5000
    again = send(service, "alice", "bob", b"ct", bytes(32), cid)
    assert again == first
    # queued once
    assert [d["message_id"] for d in inbox(service, "bob")["deliveries"]] == [first["message_id"]]
    # another sender may use the same client id: ids are per sender
    other = send(service, "carol", "bob", b"ct", bytes(32), cid)
    assert other["message_id"] != first["message_id"]


def test_a_different_send_under_a_used_client_id_is_refused_with_409(service: Service) -> None:
    cid = str(uuid.uuid4())
    first = send(service, "alice", "bob", b"ct", bytes(32), cid)
    for ciphertext, c, recipient in [
        (b"other", bytes(32), "bob"),
        (b"ct", b"\x01" * 32, "bob"),
        (b"ct", bytes(32), "carol"),
    ]:
        r = post_send(service, "alice", recipient, ciphertext, c, cid)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "client_message_id_reused"
    assert [d["message_id"] for d in inbox(service, "bob")["deliveries"]] == [first["message_id"]]
    assert inbox(service, "carol") == {"deliveries": []}


@pytest.fixture
def small_relay(
    database_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock
) -> Iterator[Service]:
    """The service with small relay quotas and pages."""
    for svc in make_service(
        database_url,
        tmp_path,
        keys,
        clock,
        relay_sender_max_messages=5,
        relay_sender_max_bytes=1000,
        relay_sender_window_ms=10_000,
        relay_inbox_max_messages=4,
        relay_inbox_max_bytes=800,
        relay_max_batch=3,
        relay_page_max_bytes=250,
    ):
        for name in ("alice", "bob", "carol", "dave"):
            svc.add_user(name)
        yield svc


def test_sender_quota_answers_429_with_retry_after(small_relay: Service) -> None:
    s = small_relay
    for i in range(5):
        send(s, "alice", "bob" if i < 3 else "carol", b"x", bytes(32))
    r = post_send(s, "alice", "dave", b"x", bytes(32))
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "relay_sender_quota"
    assert 1 <= int(r.headers["Retry-After"]) <= 10
    # a repeat of an accepted send is answered even when the quota is used up
    s.clock.now_ms += 10_001
    cid = str(uuid.uuid4())
    first = send(s, "alice", "dave", b"y" * 600, bytes(32), cid)
    r = post_send(s, "alice", "dave", b"z" * 500, bytes(32))  # 1100 bytes in the window
    assert (r.status_code, r.json()["error"]["code"]) == (429, "relay_sender_quota")
    assert send(s, "alice", "dave", b"y" * 600, bytes(32), cid) == first
    s.clock.now_ms += 10_001  # the window has passed
    send(s, "alice", "dave", b"z" * 100, bytes(32))


def test_inbox_quota_answers_429_until_the_recipient_acknowledges(small_relay: Service) -> None:
    s = small_relay
    for sender in ("alice", "carol", "dave", "alice"):
        send(s, sender, "bob", b"x" * 100, bytes(32))
    r = post_send(s, "carol", "bob", b"x", bytes(32))
    assert (r.status_code, r.json()["error"]["code"]) == (429, "relay_inbox_full")
    assert int(r.headers["Retry-After"]) >= 1
    first = inbox(s, "bob")["deliveries"][0]["message_id"]
    assert ack(s, "bob", [first]) == 1
    send(s, "carol", "bob", b"x" * 100, bytes(32))
    # bytes count too: with 2 x 100 queued, 601 more would pass 800
    assert ack(s, "bob", [d["message_id"] for d in inbox(s, "bob")["deliveries"]][:2]) == 2
    r = post_send(s, "dave", "bob", b"x" * 601, bytes(32))
    assert (r.status_code, r.json()["error"]["code"]) == (429, "relay_inbox_full")
    send(s, "dave", "bob", b"x" * 600, bytes(32))


def test_inbox_pages_are_bounded_and_chain_by_cursor(small_relay: Service) -> None:
    s = small_relay
    sizes = [100, 100, 100, 300]
    sent = []
    for size in sizes:
        sent.append(send(s, "alice", "bob", b"x" * size, bytes(32))["message_id"])
        s.clock.now_ms += 1
    page1 = inbox(s, "bob")
    # 250 bytes per page: two 100-byte deliveries fit, the third would not
    assert [d["message_id"] for d in page1["deliveries"]] == sent[:2]
    page2 = inbox(s, "bob", after=page1["next_cursor"])
    # a delivery larger than the budget still comes, alone, as the first of its page
    assert [d["message_id"] for d in page2["deliveries"]] == sent[2:3]
    page3 = inbox(s, "bob", after=page2["next_cursor"])
    assert [d["message_id"] for d in page3["deliveries"]] == sent[3:]
    assert "next_cursor" not in page3
    assert [d["message_id"] for d in inbox(s, "bob", limit=1)["deliveries"]] == sent[:1]
    # nothing was removed by reading; acknowledging page 1 leaves the rest
    assert ack(s, "bob", sent[:2]) == 2
    assert [d["message_id"] for d in inbox(s, "bob")["deliveries"]] == sent[2:3]


def test_inbox_and_ack_refuse_malformed_input(service: Service) -> None:
    s = service
    for params in (
        {"after": "nonsense"},
        {"after": "12.".ljust(40, "a")},
        {"after": "-1.a"},
        {"after": "9" * 20 + ".a"},  # beyond a 64-bit column
        {"after": "12.a\u0000b"},  # PostgreSQL text cannot hold NUL
        {"after": "12.é"},
    ):
        r = s.client.get("/v1/relay/inbox", headers=s.auth("bob"), params=params)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["error"]["code"] == "invalid_cursor"
    r = s.client.get("/v1/relay/inbox", headers=s.auth("bob"), params={"limit": 0})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request")
    bodies: list[dict[str, object]] = [
        {"message_ids": ["x"] * 1001},
        {"message_ids": [""]},
        {"message_ids": "x"},
        {"ids": []},
        {"message_ids": ["x" * 65]},
        {"message_ids": ["a\u0000b"]},
    ]
    for body in bodies:
        r = s.client.post("/v1/relay/inbox/ack", json=body, headers=s.auth("bob"))
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_request"), body
    r = s.client.post("/v1/relay/inbox/ack", json={"message_ids": []})
    assert r.status_code == 401
    assert ack(s, "bob", []) == 0


def test_concurrent_repeats_and_a_concurrent_flood_hold_to_the_database(
    small_relay: Service,
) -> None:
    """Over a real socket with threads: the same client id sent 8 times at once is queued
    once; 12 different sends at once against a quota of 5 accept exactly 5."""
    s = small_relay
    cid = str(uuid.uuid4())
    body = {
        "recipient_id": "bob",
        "conversation_id": "c",
        "ciphertext": b64(b"x"),
        "commitment": b64(bytes(32)),
        "client_message_id": cid,
    }
    with BackgroundServer(s.app) as url, loopback_client(url) as http:

        def post(json_body: dict[str, str], user: str) -> httpx.Response:
            return http.post("/v1/relay/messages", json=json_body, headers=s.auth(user))

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: post(body, "alice"), range(8)))
        assert {r.status_code for r in answers} == {200}
        assert len({r.json()["message_id"] for r in answers}) == 1
        assert len(inbox(s, "bob")["deliveries"]) == 1

        def one(i: int) -> int:
            return post({**body, "client_message_id": f"flood-{i}"}, "carol").status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(one, range(12)))
        assert codes.count(200) == 3  # the inbox holds 4: 1 + 3
        assert codes.count(429) == 9
