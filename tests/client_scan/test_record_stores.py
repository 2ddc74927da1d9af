"""Both record stores pass the same suite; the SQLite one survives reopening."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client_scan.errors import InvalidInput, RecordNotFound
from client_scan.records import (
    Direction,
    MemoryRecordStore,
    MessageRecord,
    PinnedKey,
    RecordStore,
    SqliteRecordStore,
    record_id,
)

from .test_report_builder import copy_of, record


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    if request.param == "memory":
        yield MemoryRecordStore()
    else:
        with SqliteRecordStore(tmp_path / "client.sqlite") as s:
            yield s


def test_messages_round_trip_and_order_by_time(store: RecordStore) -> None:
    records = [record(3), record(1, sender="bob", recipient="alice"), record(2)]
    for r in records:
        store.add_message(r)
    store.add_message(record(0, conv="elsewhere"))
    assert [r.timestamp_ms for r in store.conversation("c1")] == [1001, 1002, 1003]
    assert store.get_message(records[1].id) == records[1]
    assert store.conversation("none") == []
    with pytest.raises(RecordNotFound):
        store.get_message("missing")


def test_duplicate_id_with_other_content_is_refused(store: RecordStore) -> None:
    store.add_message(record(1))
    store.add_message(record(1))
    other = dataclasses.replace(
        record(1), message=dataclasses.replace(record(1).message, franking_key=b"\x07" * 32)
    )
    assert other.id == record(1).id
    with pytest.raises(InvalidInput):
        store.add_message(other)
    assert store.get_message(record(1).id) == record(1)


def test_another_stamped_copy_of_a_payload_is_a_second_record(store: RecordStore) -> None:
    # alice's message, and mallory's relayed copy of the same (fk, P): same payload id and
    # commitment, another sender, conversation, stamp and time.
    alice = record(1)
    mallory = copy_of(alice, sender="mallory", conv="c1", stamp=b"\x05" * 32, t=1500)
    elsewhere = copy_of(alice, sender="mallory", conv="c2", stamp=b"\x06" * 32, t=1600)
    assert alice.payload_id == mallory.payload_id == elsewhere.payload_id
    assert len({alice.id, mallory.id, elsewhere.id}) == 3
    for r in (alice, mallory, elsewhere, alice, mallory):
        store.add_message(r)
    assert [r.message.sender_id for r in store.conversation("c1")] == ["alice", "mallory"]
    assert store.conversation("c2") == [elsewhere]
    for r in (alice, mallory, elsewhere):
        assert store.get_message(r.id) == r


def test_a_record_id_names_the_stamped_message_not_the_relay_delivery() -> None:
    sent = record(1)
    # The sender's record and the recipient's of one stamped message share the id; a
    # redelivery under another relay id is the same record.
    assert dataclasses.replace(sent, direction=Direction.SENT).id == sent.id
    assert dataclasses.replace(sent, relay_message_id="other").id == sent.id
    assert len(sent.id) == 32
    assert int(sent.id, 16) >= 0
    for field, value in [
        ("commitment", b"\x01" * 32),
        ("stamp", b"\x01" * 32),
        ("key_id", "k2"),
        ("sender_id", "mallory"),
        ("recipient_id", "carol"),
        ("conversation_id", "c9"),
        ("timestamp_ms", 1),
    ]:
        changed = dataclasses.replace(sent.message, **{field: value})  # type: ignore[arg-type]
        assert record_id(changed, sent.payload_id) != sent.id, field
    assert record_id(sent.message, "another-payload") != sent.id


_COPIES = st.lists(
    st.tuples(
        st.integers(0, 2),  # payload
        st.sampled_from(["alice", "mallory", "dave"]),  # stamped sender
        st.sampled_from(["c1", "c2"]),  # conversation
        st.integers(0, 2),  # stamp / time variant
    ),
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(adds=_COPIES)
def test_any_sequence_of_deliveries_keeps_one_record_per_stamped_message(
    tmp_path: Path, adds: list[tuple[int, str, str, int]]
) -> None:
    # Property: whatever copies arrive, in whatever order and how often, each stores
    # exactly one record per distinct stamped message, none lost or overwritten.
    model: dict[str, MessageRecord] = {}
    path = tmp_path / f"prop-{uuid.uuid4()}.sqlite"
    with SqliteRecordStore(path) as sqlite_store:
        memory_store = MemoryRecordStore()
        for payload, sender, conv, variant in adds:
            r = copy_of(
                record(payload, conv="c1"),
                sender=sender,
                conv=conv,
                stamp=bytes([variant]) * 32,
                t=2000 + variant,
            )
            model[r.id] = r
            for s in (sqlite_store, memory_store):
                s.add_message(r)
        for s in (sqlite_store, memory_store):
            for conv in ("c1", "c2"):
                expected = sorted(
                    (r for r in model.values() if r.conversation_id == conv),
                    key=lambda r: (r.timestamp_ms, r.id),
                )
                assert s.conversation(conv) == expected
    with SqliteRecordStore(path) as reopened:
        for rid, r in model.items():
            assert reopened.get_message(rid) == r


def test_attachments(store: RecordStore) -> None:
    store.put_attachment("ab" * 32, b"data")
    assert store.get_attachment("ab" * 32) == b"data"
    with pytest.raises(RecordNotFound):
        store.get_attachment("cd" * 32)


def test_pins_keep_the_first_key_per_id(store: RecordStore) -> None:
    with pytest.raises(RecordNotFound):
        store.latest_pinned_key()
    assert store.pin_key("k1", b"A" * 32) == PinnedKey("k1", b"A" * 32)
    assert store.pin_key("k1", b"B" * 32) == PinnedKey("k1", b"A" * 32)
    store.pin_key("k2", b"C" * 32)
    assert store.latest_pinned_key() == PinnedKey("k2", b"C" * 32)
    assert store.pinned_key("k1").public_key == b"A" * 32
    with pytest.raises(RecordNotFound):
        store.pinned_key("k3")


def test_sqlite_store_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "client.sqlite"
    with SqliteRecordStore(path) as s:
        s.add_message(record(1))
        s.pin_key("k1", b"A" * 32)
        s.put_attachment("ab" * 32, b"x")
    with SqliteRecordStore(path) as s:
        assert s.get_message(record(1).id) == record(1)
        assert s.latest_pinned_key().key_id == "k1"
        assert s.get_attachment("ab" * 32) == b"x"
