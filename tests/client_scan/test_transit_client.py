"""Nothing is lost in transit, on the client side: the inbox is acknowledged only after
the deliveries are kept, one bad delivery is quarantined without stopping the batch,
sends go through the outbox under a client id and are retried with it, and every send
(forwards included) is franked afresh."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from client_scan.errors import PayloadInvalid, ReportRejected, SendPending, SubmissionDeferred
from client_scan.franking import commit, seal_envelope
from client_scan.franking.commitment import new_franking_key
from client_scan.messaging import Attachment, Messenger
from client_scan.outbox import Outbox, OutboxStatus
from client_scan.quarantine import Quarantine
from client_scan.records import Direction, MemoryRecordStore, MessageRecord
from client_scan.service_client import ServiceClient

from .client_fakes import FakeService
from .conftest import SESSION_KEY, FakeClock

BIG_INT_PAYLOAD = (
    b'{"v":1,"id":"'
    + str(uuid.uuid4()).encode()
    + b'","body":"x","attachments":[],"n":'
    + b"7" * 5000
    + b"}"
)


def relay_raw(client: ServiceClient, recipient: str, payload: bytes) -> None:
    """Send a correctly committed and sealed payload of the caller's choosing."""
    fk = new_franking_key()
    c = commit(fk, payload)
    client.relay_send(recipient, "c1", seal_envelope(SESSION_KEY, fk, payload, c, bytes(24)), c)


class LoseAnswers(httpx.BaseTransport):
    """Pass requests to ``inner``, then drop the answer of those ``lose`` picks, as a
    connection cut after the service handled the request would."""

    def __init__(self, inner: httpx.BaseTransport, lose: Callable[[httpx.Request], bool]):
        self.inner = inner
        self.lose = lose

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.lose(request):
            raise httpx.ReadError("connection reset after the service answered")
        return response


def test_a_bad_payload_is_quarantined_and_the_rest_of_the_batch_is_received(
    service: FakeService, alice_client: ServiceClient, bob_client: ServiceClient, tmp_path: Path
) -> None:
    alice = Messenger("alice", alice_client, MemoryRecordStore())
    alice.send(SESSION_KEY, "bob", "c1", "before")
    relay_raw(alice_client, "bob", BIG_INT_PAYLOAD)
    alice.send(SESSION_KEY, "bob", "c1", "after")
    store = MemoryRecordStore()
    with Quarantine(tmp_path / "q.sqlite") as quarantine:
        bob = Messenger("bob", bob_client, store, quarantine=quarantine)
        result = bob.receive(lambda d: SESSION_KEY)
        assert [r.payload.body for r in result.accepted] == ["before", "after"]
        (rejection,) = result.rejected
        assert isinstance(rejection.error, PayloadInvalid)
        (kept,) = result.quarantined
        assert kept.code == "payload_invalid"
        assert kept.delivery == rejection.delivery
        assert bob.quarantined() == [kept]
    # all three were acknowledged: nothing is left on the relay
    assert service.inboxes["bob"] == []
    # the quarantine is durable
    with Quarantine(tmp_path / "q.sqlite") as again:
        assert [q.message_id for q in again.entries()] == [kept.message_id]
        assert again.discard(kept.message_id)
        assert again.entries() == []


def test_a_message_to_oneself_is_kept_once_not_quarantined(
    service: FakeService, alice_client: ServiceClient, tmp_path: Path
) -> None:
    # A note to self is both the sent and the received copy of one stamped message.
    store = MemoryRecordStore()
    with Quarantine(tmp_path / "q.sqlite") as quarantine:
        alice = Messenger("alice", alice_client, store, quarantine=quarantine)
        sent = alice.send(SESSION_KEY, "alice", "notes", "remember the milk")
        result = alice.receive(lambda d: SESSION_KEY)
        assert result.rejected == ()
        assert alice.quarantined() == []
        assert result.accepted == ()  # already kept, as sent: not returned twice
    assert store.get_message(sent.id).direction == Direction.SENT
    assert service.inboxes["alice"] == []


def test_without_a_quarantine_a_refused_delivery_stays_on_the_relay(
    service: FakeService, alice_client: ServiceClient, bob_client: ServiceClient
) -> None:
    relay_raw(alice_client, "bob", BIG_INT_PAYLOAD)
    Messenger("alice", alice_client, MemoryRecordStore()).send(SESSION_KEY, "bob", "c1", "ok")
    bob = Messenger("bob", bob_client, MemoryRecordStore())
    result = bob.receive(lambda d: SESSION_KEY)
    assert [r.payload.body for r in result.accepted] == ["ok"]
    assert len(result.rejected) == 1
    assert result.quarantined == ()
    assert len(service.inboxes["bob"]) == 1  # the refused one is not acknowledged


def test_a_residual_value_error_from_parsing_is_a_typed_refusal(
    monkeypatch: pytest.MonkeyPatch,
    alice_client: ServiceClient,
    bob_client: ServiceClient,
    tmp_path: Path,
) -> None:
    import client_scan.messaging as messaging

    def parse(raw: bytes) -> object:
        raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")

    Messenger("alice", alice_client, MemoryRecordStore()).send(SESSION_KEY, "bob", "c1", "x")
    monkeypatch.setattr(messaging, "parse_payload", parse)
    with Quarantine(tmp_path / "q.sqlite") as quarantine:
        result = Messenger("bob", bob_client, MemoryRecordStore(), quarantine=quarantine).receive(
            lambda d: SESSION_KEY
        )
    (rejection,) = result.rejected
    assert isinstance(rejection.error, PayloadInvalid)
    assert isinstance(rejection.error.__cause__, ValueError)


def test_receive_acknowledges_only_what_it_kept(
    service: FakeService, alice_client: ServiceClient, bob_client: ServiceClient
) -> None:
    alice = Messenger("alice", alice_client, MemoryRecordStore())
    for body in ("one", "two", "three"):
        alice.send(SESSION_KEY, "bob", "c1", body)

    class FullDisk(MemoryRecordStore):
        def add_message(self, record: MessageRecord) -> None:
            if record.payload.body == "two":
                raise OSError("disk full")
            super().add_message(record)

    store = FullDisk()
    with pytest.raises(OSError, match="disk full"):
        Messenger("bob", bob_client, store).receive(lambda d: SESSION_KEY)
    # "one" was kept and acknowledged; "two" and "three" are still on the relay
    assert [len(service.inboxes["bob"])] == [2]
    result = Messenger("bob", bob_client, MemoryRecordStore()).receive(lambda d: SESSION_KEY)
    assert [r.payload.body for r in result.accepted] == ["two", "three"]


def test_a_lost_ack_redelivers_but_does_not_return_a_message_twice(
    service: FakeService, alice_client: ServiceClient
) -> None:
    Messenger("alice", alice_client, MemoryRecordStore()).send(SESSION_KEY, "bob", "c1", "x")
    lose_acks = LoseAnswers(service.transport, lambda r: r.url.path.endswith("/inbox/ack"))
    store = MemoryRecordStore()
    with ServiceClient("https://frankly.test", "tok-bob", transport=lose_acks) as flaky:
        first = Messenger("bob", flaky, store).receive(lambda d: SESSION_KEY)
    assert len(first.accepted) == 1
    with ServiceClient("https://frankly.test", "tok-bob", transport=service.transport) as bob:
        second = Messenger("bob", bob, store).receive(lambda d: SESSION_KEY)
    assert second.accepted == ()
    assert second.rejected == ()
    assert service.inboxes["bob"] == []  # acknowledged the second time


def test_a_lost_ack_of_a_quarantined_delivery_does_not_list_it_twice(
    service: FakeService, alice_client: ServiceClient, tmp_path: Path
) -> None:
    relay_raw(alice_client, "bob", BIG_INT_PAYLOAD)
    lose_acks = LoseAnswers(service.transport, lambda r: r.url.path.endswith("/inbox/ack"))
    with Quarantine(tmp_path / "q.sqlite") as quarantine:
        with ServiceClient("https://frankly.test", "tok-bob", transport=lose_acks) as flaky:
            first = Messenger("bob", flaky, MemoryRecordStore(), quarantine=quarantine).receive(
                lambda d: SESSION_KEY
            )
        assert len(first.quarantined) == 1
        with ServiceClient("https://frankly.test", "tok-bob", transport=service.transport) as c:
            second = Messenger("bob", c, MemoryRecordStore(), quarantine=quarantine).receive(
                lambda d: SESSION_KEY
            )
        assert (second.rejected, second.quarantined) == ((), ())
        assert len(quarantine.entries()) == 1
    assert service.inboxes["bob"] == []


def test_receive_follows_pages_to_the_end(
    service: FakeService, alice_client: ServiceClient, bob_client: ServiceClient
) -> None:
    service.page_size = 2
    alice = Messenger("alice", alice_client, MemoryRecordStore())
    for i in range(5):
        alice.send(SESSION_KEY, "bob", "c1", f"m{i}")
    result = Messenger("bob", bob_client, MemoryRecordStore()).receive(lambda d: SESSION_KEY)
    assert [r.payload.body for r in result.accepted] == [f"m{i}" for i in range(5)]
    assert service.inboxes["bob"] == []


def test_a_send_whose_answer_is_lost_is_retried_under_its_id_and_recorded_once(
    service: FakeService, clock: FakeClock, tmp_path: Path
) -> None:
    lost = {"n": 1}

    def lose_first_send(request: httpx.Request) -> bool:
        if request.url.path == "/v1/relay/messages" and lost["n"]:
            lost["n"] -= 1
            return True
        return False

    transport = LoseAnswers(service.transport, lose_first_send)
    store = MemoryRecordStore()
    with (
        ServiceClient("https://frankly.test", "tok-alice", transport=transport) as client,
        Outbox(tmp_path / "outbox.sqlite") as outbox,
    ):
        alice = Messenger("alice", client, store, outbox=outbox, clock=clock)
        with pytest.raises(SendPending) as pending:
            alice.send(SESSION_KEY, "bob", "c1", "did it arrive?")
        assert isinstance(pending.value, SubmissionDeferred)
        cid = pending.value.client_message_id
        # the relay has it, and the sender's outbox holds it (payload and fk included)
        assert len(service.inboxes["bob"]) == 1
        (entry,) = alice.pending_sends()
        assert entry.client_message_id == cid
        assert entry.franking_key
        assert entry.payload
        result = alice.flush_sends(force=True)
    (record,) = result.sent
    (delivered,) = service.inboxes["bob"]
    assert record.relay_message_id == delivered["message_id"]
    assert record.message.stamp == base64.b64decode(delivered["stamp"])
    assert record.direction is Direction.SENT
    assert store.get_message(record.id) == record
    with Outbox(tmp_path / "outbox.sqlite") as outbox:
        done = outbox.get_message(cid)
    assert done.status is OutboxStatus.SENT
    assert (done.payload, done.franking_key, done.ciphertext) == (b"", b"", b"")


def test_a_pending_send_survives_a_restart(
    service: FakeService, clock: FakeClock, tmp_path: Path
) -> None:
    offline = httpx.MockTransport(lambda r: (_ for _ in ()).throw(httpx.ConnectError("down")))
    with (
        ServiceClient("https://frankly.test", "tok-alice", transport=offline) as client,
        Outbox(tmp_path / "outbox.sqlite") as outbox,
        pytest.raises(SendPending),
    ):
        Messenger("alice", client, MemoryRecordStore(), outbox=outbox, clock=clock).send(
            SESSION_KEY, "bob", "c1", "later"
        )
    clock.advance(3600)
    store = MemoryRecordStore()
    with (
        ServiceClient("https://frankly.test", "tok-alice", transport=service.transport) as c,
        Outbox(tmp_path / "outbox.sqlite") as outbox,
    ):
        result = Messenger("alice", c, store, outbox=outbox, clock=clock).flush_sends()
    (record,) = result.sent
    assert record.payload.body == "later"
    assert len(service.inboxes["bob"]) == 1


def test_a_refused_send_is_kept_as_failed(
    service: FakeService, alice_client: ServiceClient, tmp_path: Path
) -> None:
    service.fail_next.append(
        httpx.Response(409, json={"error": {"code": "client_message_id_reused", "message": "x"}})
    )
    with Outbox(tmp_path / "o.sqlite") as outbox:
        alice = Messenger("alice", alice_client, MemoryRecordStore(), outbox=outbox)
        with pytest.raises(ReportRejected) as refused:
            alice.send(SESSION_KEY, "bob", "c1", "x")
        assert refused.value.code == "client_message_id_reused"
        (entry,) = outbox.messages(OutboxStatus.FAILED)
        assert entry.error_code == "client_message_id_reused"
        assert alice.flush_sends(force=True).sent == ()


def test_every_send_and_every_forward_is_franked_afresh(
    service: FakeService, alice_client: ServiceClient, bob_client: ServiceClient
) -> None:
    alice = Messenger("alice", alice_client, MemoryRecordStore())
    first = alice.send(SESSION_KEY, "bob", "c1", "same words", [Attachment(b"pic", "image/png")])
    second = alice.send(SESSION_KEY, "bob", "c1", "same words", [Attachment(b"pic", "image/png")])
    bob_store = MemoryRecordStore()
    bob = Messenger("bob", bob_client, bob_store)
    received = bob.receive(lambda d: SESSION_KEY).accepted
    bob.accept_attachment(received[0].id, "a0", b"pic")
    forwarded = bob.forward(SESSION_KEY, received[0].id, "alice", "c2")
    franks = [(m.franking_key, m.commitment) for m in (first.message, second.message)]
    franks.append((forwarded.message.franking_key, forwarded.message.commitment))
    assert len({fk for fk, _ in franks}) == 3
    assert len({c for _, c in franks}) == 3
    assert received[0].message.commitment == first.message.commitment
    assert forwarded.message.sender_id == "bob"
    assert forwarded.payload.body == "same words"
    assert forwarded.payload.attachments == received[0].payload.attachments
    assert forwarded.id not in {first.id, second.id}
    (delivery,) = service.inboxes["alice"]
    assert json.dumps(delivery).count(forwarded.relay_message_id) == 1
