"""One SQLite file on the device, shared by the record store and the outbox.

Autocommit mode with explicit ``BEGIN IMMEDIATE`` transactions, WAL and full synchronous
writes, so that a committed row survives a crash; one lock serialises the connection
between the app's threads. The file and its ``-wal`` / ``-shm`` companions are mode 0600:
they hold message plaintexts and franking keys.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self


def open_sqlite(path: str | Path) -> sqlite3.Connection:
    """Open an SQLite file for the client: autocommit mode (explicit transactions), WAL,
    full synchronous writes, so that a committed row survives a crash."""
    private = str(path) != ":memory:" and not str(path).startswith("file:")
    if private:
        # Created 0600 before SQLite opens it; SQLite gives the -wal and -shm files the
        # mode of the database file.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    if private:
        restrict_sqlite_files(path)
    return conn


def restrict_sqlite_files(path: str | Path) -> None:
    """Make an SQLite file and its ``-wal``, ``-shm`` and ``-journal`` companions mode 0600
    (files made by an older version were 0644)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.chmod(f"{path}{suffix}", 0o600)
        except FileNotFoundError:
            continue


class SqliteFile:
    """An open SQLite file with a schema applied; use as a context manager or :meth:`close`."""

    def __init__(self, path: str | Path, schema: str) -> None:
        self._conn = open_sqlite(path)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.executescript(schema)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
