"""Franked send and receive: the happy path, refused deliveries and attachment checks."""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client_scan.errors import (
    AttachmentMismatch,
    CommitmentMismatch,
    EnvelopeError,
    InvalidInput,
    NotParty,
    PayloadInvalid,
    RecordNotFound,
)
from client_scan.franking import commit, encode_payload, seal_envelope, verify_stamp
from client_scan.messaging import (
    Attachment,
    Messenger,
    attachment_ref,
    check_attachment,
    frank_outgoing,
    open_delivery,
)
from client_scan.records import Direction, MemoryRecordStore
from client_scan.service_client import Delivery, ServiceClient

from .client_fakes import FakeService
from .conftest import SESSION_KEY, FakeClock

PICTURE = b"\x89PNG fake picture bytes " * 10


def _delivery(ciphertext: bytes, commitment: bytes, **kw: object) -> Delivery:
    fields: dict[str, object] = {
        "message_id": "m1",
        "ciphertext": ciphertext,
        "commitment": commitment,
        "stamp": b"\x00" * 32,
        "key_id": "k1",
        "sender_id": "alice",
        "recipient_id": "bob",
        "conversation_id": "c1",
        "timestamp_ms": 1,
    }
    fields.update(kw)
    return Delivery(**fields)  # type: ignore[arg-type]


def test_send_and_receive_keep_franked_records_that_verify(
    service: FakeService, alice_client: ServiceClient, bob_client: ServiceClient, clock: FakeClock
) -> None:
    alice_store, bob_store = MemoryRecordStore(), MemoryRecordStore()
    alice = Messenger("alice", alice_client, alice_store)
    bob = Messenger("bob", bob_client, bob_store)

    sent = alice.send(SESSION_KEY, "bob", "c1", "hi bob", [Attachment(PICTURE, "image/png")])
    result = bob.receive(lambda d: SESSION_KEY)

    assert result.rejected == ()
    (received,) = result.accepted
    assert received.direction is Direction.RECEIVED
    assert sent.direction is Direction.SENT
    assert received.payload.body == "hi bob"
    # Sender and recipient hold the same franked record (same stamp: one recipient).
    assert received.message == sent.message
    assert bob_store.get_message(received.id) == received
    assert alice_store.get_message(sent.id) == sent
    # The stamp is genuine: the platform's own check accepts it.
    verify_stamp(service.keyring, received.message, clock.ms())
    # The sender keeps its own attachment bytes; the recipient only once they check out.
    digest = hashlib.sha256(PICTURE).hexdigest()
    assert alice_store.get_attachment(digest) == PICTURE
    with pytest.raises(RecordNotFound):
        bob_store.get_attachment(digest)
    ref = bob.accept_attachment(received.id, "a0", PICTURE)
    assert ref.sha256 == digest
    assert bob_store.get_attachment(digest) == PICTURE


def test_mismatching_attachment_is_refused_and_not_stored(
    alice_client: ServiceClient, bob_client: ServiceClient
) -> None:
    bob_store = MemoryRecordStore()
    Messenger("alice", alice_client, MemoryRecordStore()).send(
        SESSION_KEY, "bob", "c1", "pic", [Attachment(PICTURE, "image/png", id="pic")]
    )
    bob = Messenger("bob", bob_client, bob_store)
    (record,) = bob.receive(lambda d: SESSION_KEY).accepted
    salamander = PICTURE[:-1] + b"!"
    with pytest.raises(AttachmentMismatch):
        bob.accept_attachment(record.id, "pic", salamander)
    with pytest.raises(AttachmentMismatch):  # same digest prefix, different size
        bob.accept_attachment(record.id, "pic", PICTURE + b"x")
    with pytest.raises(AttachmentMismatch):  # an attachment the sender never committed
        bob.accept_attachment(record.id, "other", PICTURE)
    with pytest.raises(RecordNotFound):
        bob_store.get_attachment(hashlib.sha256(salamander).hexdigest())


@given(data=st.binary(max_size=64), flip=st.integers(min_value=0, max_value=10_000))
def test_any_altered_attachment_byte_is_refused(data: bytes, flip: int) -> None:
    payload = encode_payload("x", [attachment_ref(data, "application/octet-stream", "a")])
    assert check_attachment(payload, "a", data).sha256 == hashlib.sha256(data).hexdigest()
    if data:
        i = flip % len(data)
        altered = data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :]
        with pytest.raises(AttachmentMismatch):
            check_attachment(payload, "a", altered)


def test_delivery_with_swapped_commitment_is_refused_never_stored(
    service: FakeService, alice_client: ServiceClient, bob_client: ServiceClient
) -> None:
    alice = Messenger("alice", alice_client, MemoryRecordStore())
    alice.send(SESSION_KEY, "bob", "c1", "first")
    alice.send(SESSION_KEY, "bob", "c1", "second")
    first, second = service.inboxes["bob"]
    first["commitment"] = second["commitment"]  # a relay pairing a ciphertext with another c
    bob_store = MemoryRecordStore()
    result = Messenger("bob", bob_client, bob_store).receive(lambda d: SESSION_KEY)
    assert [r.payload.body for r in result.accepted] == ["second"]
    (rejection,) = result.rejected
    assert isinstance(rejection.error, EnvelopeError)
    assert [r.payload.body for r in bob_store.conversation("c1")] == ["second"]


def test_commitment_that_does_not_open_to_the_payload_is_refused() -> None:
    # A malicious sender binds the envelope to a commitment of a *different* payload.
    fk = bytes(32)
    shown = encode_payload("innocent")
    committed = encode_payload("what will be reported")
    c = commit(fk, committed.raw)
    ciphertext = seal_envelope(SESSION_KEY, fk, shown.raw, c, bytes(24))
    with pytest.raises(CommitmentMismatch):
        open_delivery(SESSION_KEY, _delivery(ciphertext, c))


def test_open_delivery_checks_recipient_and_payload() -> None:
    out = frank_outgoing(SESSION_KEY, encode_payload("hi"), bytes(32), bytes(24))
    delivery = _delivery(out.ciphertext, out.commitment)
    assert open_delivery(SESSION_KEY, delivery, recipient_id="bob").payload.body == "hi"
    with pytest.raises(NotParty):
        open_delivery(SESSION_KEY, delivery, recipient_id="carol")
    with pytest.raises(EnvelopeError):
        open_delivery(bytes(32), delivery)
    fk, junk = bytes(32), b"not json"
    c = commit(fk, junk)
    bad = _delivery(seal_envelope(SESSION_KEY, fk, junk, c, bytes(24)), c)
    with pytest.raises(PayloadInvalid):
        open_delivery(SESSION_KEY, bad)


def test_receive_refuses_a_tampered_ciphertext_from_the_inbox(
    service: FakeService, alice_client: ServiceClient, bob_client: ServiceClient
) -> None:
    Messenger("alice", alice_client, MemoryRecordStore()).send(SESSION_KEY, "bob", "c1", "x")
    item = service.inboxes["bob"][0]
    raw = bytearray(base64.b64decode(item["ciphertext"]))
    raw[-1] ^= 1
    item["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    store = MemoryRecordStore()
    result = Messenger("bob", bob_client, store).receive(lambda d: SESSION_KEY)
    assert result.accepted == ()
    assert len(result.rejected) == 1
    assert store.conversation("c1") == []


def test_records_are_replaced_only_by_identical_ones(
    alice_client: ServiceClient,
) -> None:
    store = MemoryRecordStore()
    record = Messenger("alice", alice_client, store).send(SESSION_KEY, "bob", "c1", "x")
    store.add_message(record)  # idempotent
    # Another stamp of the same payload is another stamped message: kept beside it.
    restamped = dataclasses.replace(
        record, message=dataclasses.replace(record.message, stamp=b"\x01" * 32)
    )
    store.add_message(restamped)
    assert store.get_message(restamped.id) == restamped
    assert store.get_message(record.id) == record
    # The same stamped message with other contents is refused, never overwritten.
    other = dataclasses.replace(
        record, message=dataclasses.replace(record.message, franking_key=b"\x02" * 32)
    )
    assert other.id == record.id
    with pytest.raises(InvalidInput):
        store.add_message(other)
    assert store.get_message(record.id) == record


def test_a_failed_session_key_lookup_returns_the_delivery_instead_of_losing_it(
    alice_client: ServiceClient, bob_client: ServiceClient
) -> None:
    Messenger("alice", alice_client, MemoryRecordStore()).send(SESSION_KEY, "bob", "c1", "x")
    keys: dict[str, bytes] = {}
    bob = Messenger("bob", bob_client, MemoryRecordStore())
    result = bob.receive(lambda d: keys[d.conversation_id])
    (rejection,) = result.rejected
    assert isinstance(rejection.error, EnvelopeError)
    assert isinstance(rejection.error.__cause__, KeyError)
    # The app can open the returned delivery once it has the key.
    assert open_delivery(SESSION_KEY, rejection.delivery).payload.body == "x"
