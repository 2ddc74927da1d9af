"""Both record stores pass the same suite; the SQLite one survives reopening."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from client_scan.errors import InvalidInput, RecordNotFound
from client_scan.records import MemoryRecordStore, PinnedKey, RecordStore, SqliteRecordStore

from .test_report_builder import record


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
    with pytest.raises(InvalidInput):
        store.add_message(record(1, sender="mallory"))


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
