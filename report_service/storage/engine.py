"""Engine and session factory for SQLite and PostgreSQL.

SQLite gets WAL journaling, enforced foreign keys, a busy timeout, and ``BEGIN IMMEDIATE``
transactions so that two writers queue on the lock instead of failing with "database is
locked" when a read transaction upgrades to a write; sessions made read-only begin
``DEFERRED`` and take no lock. Its file (and the ``-wal`` / ``-shm`` files, which SQLite
creates with the database file's mode) is mode 0600, since it holds the users' token
hashes, the wrapped evidence keys and the audit log. PostgreSQL runs on psycopg 3.

SQLite commits with ``synchronous=FULL`` by default: the WAL is synced at every commit, so
an answered request (a 201 for a report, a 200 for a relayed message) survives a power
failure or OS crash. ``NORMAL`` (``FRANKLY_SQLITE_SYNCHRONOUS=NORMAL``) syncs only at
checkpoints: still safe against a crash of the process, but the last commits before a
power failure can be lost (docs/operations.md, "Durability").
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from report_service.errors import ConfigError

SQLITE_BUSY_TIMEOUT_MS = 30_000
SqliteSynchronous = Literal["FULL", "NORMAL"]
POSTGRES_POOL_RECYCLE_S = 1800
READ_ONLY_OPTION = "frankly_read_only"


def normalize_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver named for PostgreSQL URLs.

    Raises:
        ConfigError: the URL is neither SQLite nor PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError, ValueError
        raise ConfigError("the database URL cannot be parsed") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return url
    raise ConfigError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def _sqlite_on_connect(
    dbapi_connection: Any, _record: Any, synchronous: SqliteSynchronous = "FULL"
) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=" + ("NORMAL" if synchronous == "NORMAL" else "FULL"))
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    # Read-only sessions (make_session_factory(read_only=True)) take no lock: a deferred
    # BEGIN reads a WAL snapshot while a writer holds the write lock. Every other
    # transaction may write, so it queues on the write lock from its first statement.
    if conn.get_execution_options().get(READ_ONLY_OPTION):
        conn.exec_driver_sql("BEGIN DEFERRED")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(
    url: str, *, echo: bool = False, sqlite_synchronous: SqliteSynchronous = "FULL"
) -> Engine:
    """Create an engine for ``url`` (``sqlite:///...`` or ``postgresql+psycopg://...``).

    Raises:
        ConfigError: the URL names an unsupported backend.
    """
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        _private_sqlite_file(make_url(url).database)
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", partial(_sqlite_on_connect, synchronous=sqlite_synchronous))
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    # No pool_pre_ping: it costs a round trip on every checkout (several per request).
    # A connection the server dropped fails its request once; SQLAlchemy then invalidates
    # the whole pool, so the next requests reconnect. pool_recycle retires idle
    # connections before server or proxy timeouts cut them.
    return create_engine(
        url, echo=echo, pool_size=10, max_overflow=20, pool_recycle=POSTGRES_POOL_RECYCLE_S
    )


def _private_sqlite_file(database: str | None) -> None:
    """Create the SQLite file 0600 before SQLite does (0644 under the usual umask), and
    tighten one left by an older version, with its companions."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite reports the missing folder when it connects
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError:
        return  # SQLite reports what is wrong when it connects
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.chmod(f"{path}{suffix}", 0o600)
        except OSError:
            continue


def make_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit.

    ``read_only``: for lookups that never write (token checks, duplicate checks, queue
    depths). On SQLite they begin ``DEFERRED`` and so do not wait for, or hold up,
    writers; a write in one may fail with "database is locked". On PostgreSQL they run in
    autocommit: each statement is its own transaction, which saves the ``BEGIN`` and
    ``ROLLBACK`` round trips (two of three for a one-query lookup); several statements in
    one such session do not share a snapshot.
    """
    if not read_only:
        return sessionmaker(engine, expire_on_commit=False)
    return sessionmaker(read_engine(engine), expire_on_commit=False)


def read_engine(engine: Engine) -> Engine:
    """``engine`` for lookups that never write, as the read-only sessions of
    :func:`make_session_factory` use it: on SQLite each transaction begins ``DEFERRED``
    (no write lock), on PostgreSQL each statement runs in autocommit. The hot lookups
    (bearer token, repeat check) run on its Core connections, which cost a fraction of an
    ORM session's setup per request."""
    options: dict[str, Any] = {READ_ONLY_OPTION: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return engine.execution_options(**options)
