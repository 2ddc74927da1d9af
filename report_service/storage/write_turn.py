"""Writers to one SQLite file take turns, across the processes of its host.

SQLite lets one transaction write at a time. A transaction that finds the write lock
taken waits in SQLite's busy handler, which sleeps in steps of 1, 2, 5, 10 .. 100 ms and
tries again: with two ``frankly serve`` workers storing reports, the lock is often free
while both sleep, and a core sits idle. A :class:`WriteTurn` queues writers instead on
a lock that wakes the next one as soon as the holder lets go: a :class:`threading.Lock`
for the threads of a process, then ``flock(2)`` on a lock file beside the database for
the processes (an SQLite database lives on one host, and ``flock`` is the OS's own
inter-process lock: the kernel drops it when its process dies, ``kill -9`` included).

It is a scheduling aid only: correctness still rests on SQLite's own lock, which every
writer takes. The turn is held for one write transaction, which waits for nothing but
the disk, so a turn is never held for long. Intake's stores and review's claims,
releases and decisions take it; other writers (the relay, the rest of review, the CLI)
still queue on SQLite's lock as before.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

LOCK_SUFFIX = ".write-turn"


class WriteTurn:
    """``with turn():`` runs its block while no other thread or process of this host
    holds the turn of the same lock file (``None``: threads of this process only)."""

    def __init__(self, lock_path: Path | None) -> None:
        self.lock_path = lock_path
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._fd_pid = 0  # the process that opened _fd (a forked child opens its own)
        self._closer: weakref.finalize[[int], WriteTurn] | None = None

    def _lock_fd(self) -> int | None:
        """This process's descriptor of the lock file, opened on first use (0600)."""
        if self.lock_path is None:
            return None
        if self._fd is None or self._fd_pid != os.getpid():
            # A descriptor inherited through fork shares its lock with the parent, so each
            # process opens its own (and never closes the parent's, which it does not own).
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._fd_pid = os.getpid()
            self._closer = weakref.finalize(self, os.close, self._fd)  # if never closed
        return self._fd

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._threads:
            fd = self._lock_fd()
            if fd is None:
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close this process's descriptor (waits for a turn in progress)."""
        with self._threads:
            if self._closer is not None and self._fd_pid == os.getpid():
                self._closer()  # closes the descriptor once
            self._fd = self._closer = None


def write_turn_for(engine: Engine) -> WriteTurn | None:
    """The turn for writers to ``engine``'s database: across processes for an SQLite file
    (its lock file is the database's path plus :data:`LOCK_SUFFIX`), within the process
    for an in-memory SQLite database; ``None`` for PostgreSQL, whose writers lock rows,
    not the database."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return WriteTurn(None)
    return WriteTurn(Path(database).with_name(Path(database).name + LOCK_SUFFIX))
