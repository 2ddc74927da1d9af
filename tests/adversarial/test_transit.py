"""Nothing accepted is lost in transit (issue 10, section 4, and the client half of
section 2), attacked as a user or a flaky network would: real clients
(:class:`~client_scan.client.FranklyClient`) and raw HTTP against the real service over
loopback HTTP (uvicorn), on SQLite and PostgreSQL.

- an inbox answer cut off on the way used to lose every message in it (the relay deleted
  on ``GET``): deliveries now stay until the recipient acknowledges them;
- a send whose answer is lost (or whose sender is killed before storing it) left the
  sender with no record of a message the recipient holds: the client keeps it in its
  outbox and re-sends it under its ``client_message_id``, and the relay answers with the
  first stamp;
- one user could store any number of 1 MiB messages, and one inbox answer carried all of
  them: sends are counted per sender and per inbox (429 with a typed code), pages are
  bounded;
- a correctly committed payload that does not parse (a 5000-digit integer) made
  ``receive()`` raise and lost the rest of the batch: it is quarantined, the rest is
  received.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from client_scan.client import FranklyClient
from client_scan.errors import SubmissionDeferred
from client_scan.franking import commit, seal_envelope
from client_scan.franking.commitment import new_franking_key
from tests.report_service.conftest import (  # noqa: F401  (fixtures used by name)
    Service,
    clock,
    keys,
    live_url,
    loopback_client,
    service,
)

SESSION_KEY = bytes(range(40, 72))


@dataclass
class Net:
    """The running service, its loopback URL and a folder for the users' app data."""

    service: Service
    url: str
    data: Path

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.service.tokens[user]}"}


@pytest.fixture
def net(service: Service, live_url: str, tmp_path: Path) -> Net:  # noqa: F811
    return Net(service, live_url, tmp_path)


def client(net: Net, user: str, **kw: object) -> FranklyClient:
    return FranklyClient(
        user_id=user,
        base_url=net.url,
        token=net.service.tokens[user],
        data_dir=net.data / user,
        **kw,  # type: ignore[arg-type]
    )


def raw_send(
    http: httpx.Client, net: Net, sender: str, recipient: str, ct: bytes, c: bytes
) -> httpx.Response:
    return http.post(
        "/v1/relay/messages",
        json={
            "recipient_id": recipient,
            "conversation_id": "c1",
            "ciphertext": base64.b64encode(ct).decode(),
            "commitment": base64.b64encode(c).decode(),
        },
        headers=net.auth(sender),
    )


class LoseAnswers(httpx.BaseTransport):
    """Real HTTP, but the answers ``lose`` picks never reach the caller (the connection
    drops after the service handled the request)."""

    def __init__(self, lose: Callable[[httpx.Request], bool]) -> None:
        self.inner = httpx.HTTPTransport()
        self.lose = lose

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lose(request):
            response.read()
            response.close()
            raise httpx.ReadError("connection reset after the service answered")
        return response

    def close(self) -> None:
        self.inner.close()


def test_an_aborted_inbox_answer_loses_nothing(net: Net) -> None:
    with client(net, "alice") as alice:
        for i in range(3):
            alice.send(SESSION_KEY, "bob", "c1", f"message {i}")
    # bob's app asks for the inbox and the connection drops before the body is read
    with loopback_client(net.url) as http:
        with http.stream("GET", "/v1/relay/inbox", headers=net.auth("bob")) as response:
            assert response.status_code == 200
        # and once more, read in full but never stored (the app was killed)
        http.get("/v1/relay/inbox", headers=net.auth("bob"))
    with client(net, "bob") as bob:
        got = bob.receive(lambda d: SESSION_KEY)
        assert sorted(r.payload.body for r in got.accepted) == [f"message {i}" for i in range(3)]
        # stored, then acknowledged: the relay holds nothing more for bob
        assert bob.receive(lambda d: SESSION_KEY).accepted == ()
    with loopback_client(net.url) as http:
        left = http.get("/v1/relay/inbox", headers=net.auth("bob"))
        assert left.json() == {"deliveries": []}


def test_a_send_whose_answer_is_lost_is_retried_after_a_crash_with_the_same_stamp(net: Net) -> None:
    lose_sends = LoseAnswers(lambda r: r.url.path == "/v1/relay/messages")
    alice = client(net, "alice", transport=lose_sends)
    with pytest.raises(SubmissionDeferred):
        alice.send(SESSION_KEY, "bob", "c1", "did it arrive?")
    alice.close()  # the app is killed before it learns anything more
    with client(net, "bob") as bob:
        (held,) = bob.receive(lambda d: SESSION_KEY).accepted
    # alice starts again: her outbox re-sends under the same client id
    with client(net, "alice") as alice:
        alice.flush_outbox(force=True)
        (mine,) = alice.store.conversation("c1")
        assert mine.message.commitment == held.message.commitment
        assert mine.message.stamp == held.message.stamp
        assert mine.message.timestamp_ms == held.message.timestamp_ms
        assert mine.relay_message_id == held.relay_message_id
        alice.flush_outbox(force=True)  # nothing more is sent
    with client(net, "bob") as bob:
        assert bob.receive(lambda d: SESSION_KEY).accepted == ()  # delivered once


def test_a_client_id_cannot_be_reused_for_another_message(net: Net) -> None:
    cid = str(uuid.uuid4())
    with loopback_client(net.url) as http:
        headers = net.auth("alice")
        body = {
            "recipient_id": "bob",
            "conversation_id": "c1",
            "ciphertext": base64.b64encode(b"first").decode(),
            "commitment": base64.b64encode(bytes(32)).decode(),
            "client_message_id": cid,
        }
        first = http.post("/v1/relay/messages", json=body, headers=headers)
        assert first.status_code == 200
        again = http.post("/v1/relay/messages", json=body, headers=headers)
        assert again.json() == first.json()
        swapped = {**body, "ciphertext": base64.b64encode(b"second").decode()}
        refused = http.post("/v1/relay/messages", json=swapped, headers=headers)
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "client_message_id_reused"


def test_a_flood_of_large_messages_is_refused_and_inbox_pages_are_bounded(net: Net) -> None:
    """Default settings: 16 MiB per sender per minute, 8 MiB of ciphertext per page."""
    mib = os.urandom(1024 * 1024)
    accepted = 0
    with loopback_client(net.url) as http:
        for _ in range(20):
            r = raw_send(http, net, "carol", "bob", mib, bytes(32))
            if r.status_code != 200:
                break
            accepted += 1
        assert accepted == 16
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "relay_sender_quota"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        page = http.get("/v1/relay/inbox", headers=net.auth("bob"))
        body = page.json()
        # one page carries at most 8 MiB of ciphertext (plus base64 and JSON overhead)
        assert len(page.content) <= 8 * 1024 * 1024 * 4 // 3 + 64 * 1024
        assert 0 < len(body["deliveries"]) < accepted
        total = len(body["deliveries"])
        while "next_cursor" in body:
            body = http.get(
                "/v1/relay/inbox", headers=net.auth("bob"), params={"after": body["next_cursor"]}
            ).json()
            total += len(body["deliveries"])
        assert total == accepted


def test_a_bad_message_in_a_batch_is_quarantined_and_the_rest_received(net: Net) -> None:
    payload = (
        b'{"v":1,"id":"' + str(uuid.uuid4()).encode() + b'","body":"boom","attachments":[],'
        b'"n":' + b"9" * 5000 + b"}"
    )
    fk = new_franking_key()
    c = commit(fk, payload)
    with client(net, "alice") as alice:
        alice.send(SESSION_KEY, "bob", "c1", "before")
        with loopback_client(net.url) as http:
            bad = raw_send(
                http,
                net,
                "carol",
                "bob",
                seal_envelope(SESSION_KEY, fk, payload, c, bytes(24)),
                c,
            )
            assert bad.status_code == 200
        alice.send(SESSION_KEY, "bob", "c1", "after")
    with client(net, "bob") as bob:
        result = bob.receive(lambda d: SESSION_KEY)
        assert sorted(r.payload.body for r in result.accepted) == ["after", "before"]
        (kept,) = bob.quarantined()
        assert kept.code == "payload_invalid"
        assert kept.delivery.sender_id == "carol"
        assert kept.message_id == bad.json()["message_id"]
    with client(net, "bob") as bob:  # durable across restarts
        assert [q.message_id for q in bob.quarantined()] == [kept.message_id]
        assert bob.receive(lambda d: SESSION_KEY).rejected == ()  # acknowledged
