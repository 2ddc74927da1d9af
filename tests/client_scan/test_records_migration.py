"""``records.sqlite`` written before records were keyed by stamped message (layout
version 0: one row per payload id) is upgraded on opening: every row kept with all its
data, under its record id, in one transaction; the file stays 0600."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client_scan.errors import InvalidInput
from client_scan.records import SCHEMA_VERSION, MessageRecord, SqliteRecordStore

from .test_report_builder import copy_of, record

# The layout of records.sqlite before this change, verbatim.
_V0_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY,
    direction TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
    relay_message_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    franking_key BLOB NOT NULL,
    commitment BLOB NOT NULL,
    stamp BLOB NOT NULL,
    key_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    timestamp_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_conversation
    ON messages (conversation_id, timestamp_ms, id);
CREATE TABLE IF NOT EXISTS attachments (
    sha256 TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS pinned_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id TEXT NOT NULL UNIQUE,
    public_key BLOB NOT NULL
);
"""


def write_v0(path: Path, records: list[MessageRecord], *, mode: int = 0o600) -> None:
    """A version-0 file as the old SqliteRecordStore wrote it (row id = payload id)."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, mode))
    os.chmod(path, mode)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(_V0_SCHEMA)
    for r in records:
        m = r.message
        conn.execute(
            "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.payload.id,
                str(r.direction),
                r.relay_message_id,
                m.payload,
                m.franking_key,
                m.commitment,
                m.stamp,
                m.key_id,
                m.sender_id,
                m.recipient_id,
                m.conversation_id,
                m.timestamp_ms,
            ),
        )
    conn.execute("INSERT INTO attachments VALUES (?, ?)", ("ab" * 32, b"picture"))
    conn.execute("INSERT INTO pinned_keys (key_id, public_key) VALUES (?, ?)", ("k1", b"A" * 32))
    conn.close()


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def rows(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM messages ORDER BY 1").fetchall()
    finally:
        conn.close()


def old_records() -> list[MessageRecord]:
    return [
        record(0),
        record(1, sender="bob", recipient="alice"),
        record(2, attachments=(b"picture",)),
        record(3, conv="c2"),
    ]


def test_a_version_0_file_keeps_every_row_under_its_record_id(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    old = old_records()
    write_v0(path, old, mode=0o644)  # an old file may even have been made 0644
    assert user_version(path) == 0
    with SqliteRecordStore(path) as store:
        for r in old:
            assert store.get_message(r.id) == r  # every column, under the new id
        assert store.conversation("c1") == sorted(old[:3], key=lambda r: r.timestamp_ms)
        assert store.conversation("c2") == [old[3]]
        assert store.get_attachment("ab" * 32) == b"picture"
        assert store.pinned_key("k1").public_key == b"A" * 32
        # What the old layout refused: a relayed copy of a kept message is now kept too.
        copy = copy_of(old[0], sender="mallory", conv="c1", stamp=b"\x05" * 32, t=1500)
        store.add_message(copy)
        assert store.get_message(copy.id) == copy
        assert store.get_message(old[0].id) == old[0]
    assert user_version(path) == SCHEMA_VERSION
    conn = sqlite3.connect(path)
    payload_ids = dict(conn.execute("SELECT id, payload_id FROM messages").fetchall())
    conn.close()
    assert payload_ids == {r.id: r.payload_id for r in [*old, copy]}
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            assert stat.S_IMODE(os.stat(f"{path}{suffix}").st_mode) == 0o600, suffix


def test_the_upgrade_runs_once_and_a_new_file_starts_at_the_current_version(
    tmp_path: Path,
) -> None:
    path = tmp_path / "records.sqlite"
    write_v0(path, old_records())
    SqliteRecordStore(path).close()
    upgraded = rows(path)
    SqliteRecordStore(path).close()  # opening again changes nothing
    assert rows(path) == upgraded
    fresh = tmp_path / "fresh.sqlite"
    with SqliteRecordStore(fresh) as store:
        store.add_message(record(0))
    assert user_version(fresh) == SCHEMA_VERSION


def test_a_file_from_a_newer_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    with SqliteRecordStore(path) as store:
        store.add_message(record(0))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = rows(path)
    with pytest.raises(InvalidInput, match="newer"):
        SqliteRecordStore(path)
    assert rows(path) == before
    assert user_version(path) == SCHEMA_VERSION + 1


def test_a_failed_upgrade_rolls_back_and_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    write_v0(path, old_records())
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(
        "UPDATE messages SET timestamp_ms = -1 WHERE id = ?", (old_records()[3].payload_id,)
    )
    conn.close()
    before = rows(path)
    with pytest.raises(InvalidInput, match="unchanged"):
        SqliteRecordStore(path)
    assert rows(path) == before
    assert user_version(path) == 0


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    specs=st.lists(
        st.tuples(
            st.integers(0, 50),
            st.sampled_from(["c1", "c2", "c3"]),
            st.sampled_from([("alice", "bob"), ("bob", "alice"), ("carol", "bob")]),
        ),
        unique_by=lambda s: s[0],
        max_size=15,
    )
)
def test_any_version_0_file_upgrades_without_losing_a_row(
    tmp_path_factory: pytest.TempPathFactory, specs: list[tuple[int, str, tuple[str, str]]]
) -> None:
    old = [record(i, conv=conv, sender=s, recipient=r) for i, conv, (s, r) in specs]
    path = tmp_path_factory.mktemp("v0") / "records.sqlite"
    write_v0(path, old)
    with SqliteRecordStore(path) as store:
        for r in old:
            assert store.get_message(r.id) == r
        for conv in ("c1", "c2", "c3"):
            assert store.conversation(conv) == sorted(
                (r for r in old if r.conversation_id == conv),
                key=lambda r: (r.timestamp_ms, r.id),
            )
    assert len(rows(path)) == len(old)


def test_two_processes_opening_a_version_0_file_at_once_upgrade_it_once(tmp_path: Path) -> None:
    # The app and the terminal client may open the same file together: the upgrade runs
    # in a write transaction that re-reads the version, so the second opener finds it done.
    import threading

    path = tmp_path / "records.sqlite"
    old = old_records()
    write_v0(path, old)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        try:
            start.wait()
            with SqliteRecordStore(path) as store:
                assert store.get_message(old[0].id) == old[0]
        except BaseException as exc:  # collected and re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(rows(path)) == len(old)
    assert user_version(path) == SCHEMA_VERSION
