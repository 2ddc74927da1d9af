"""Read-only sessions: on SQLite they begin DEFERRED and read beside a writer instead of
queueing on its write lock (write sessions still begin IMMEDIATE); on PostgreSQL they run
in autocommit (no BEGIN / ROLLBACK round trips)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select, text

from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from report_service.storage.models import User


def test_a_read_only_session_reads_while_a_writer_holds_the_lock(sqlite_url: str) -> None:
    upgrade_database(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        writes = make_session_factory(engine)
        reads = make_session_factory(engine, read_only=True)
        with writes.begin() as s:
            s.add(User(id="alice", token_hash=b"\x01" * 32, created_at=1))
        with writes() as writer:
            writer.add(User(id="bob", token_hash=b"\x02" * 32, created_at=2))
            writer.flush()  # BEGIN IMMEDIATE: the write lock is held until commit
            # Before the fix every transaction began IMMEDIATE, so this waited out the
            # 30 s busy timeout and failed with "database is locked".
            with reads() as reader:
                assert reader.scalar(select(func.count()).select_from(User)) == 1
            writer.commit()
        with reads() as reader:
            assert reader.scalar(select(func.count()).select_from(User)) == 2
    finally:
        engine.dispose()


def test_write_sessions_still_take_the_write_lock_first(sqlite_url: str) -> None:
    """A write session holds the lock from its first statement, even a read, so its later
    write never fails on a lock upgrade; a read-only session beside it takes none."""
    upgrade_database(sqlite_url)
    engine = make_engine(sqlite_url)
    path = sqlite_url.removeprefix("sqlite:///")
    try:
        writes = make_session_factory(engine)
        reads = make_session_factory(engine, read_only=True)
        with reads() as reader:
            reader.execute(text("SELECT 1"))
            probe = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")  # free: the reader holds no lock
                probe.execute("ROLLBACK")
                with writes() as writer:
                    writer.execute(text("SELECT 1"))
                    with pytest.raises(sqlite3.OperationalError, match="locked"):
                        probe.execute("BEGIN IMMEDIATE")
            finally:
                probe.close()
    finally:
        engine.dispose()


def test_read_only_sessions_on_postgresql_run_in_autocommit(postgres_url: str) -> None:
    """No BEGIN / ROLLBACK round trips for a lookup; write sessions still open a
    transaction."""
    upgrade_database(postgres_url)
    engine = make_engine(postgres_url)
    try:
        writes = make_session_factory(engine)
        reads = make_session_factory(engine, read_only=True)
        with writes.begin() as s:
            s.add(User(id="alice", token_hash=b"\x01" * 32, created_at=1))
        with reads() as reader:
            assert reader.scalar(select(func.count()).select_from(User)) == 1
            raw = reader.connection().connection.dbapi_connection
            assert raw is not None
            assert raw.autocommit
        with writes() as writer:
            writer.execute(text("SELECT 1"))
            raw = writer.connection().connection.dbapi_connection
            assert raw is not None
            assert not raw.autocommit
    finally:
        engine.dispose()
