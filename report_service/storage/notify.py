"""A PostgreSQL LISTEN thread: calls back whenever a channel is notified.

Used by :class:`report_service.banks.HashBanks` so that a bank change committed by any
process (``pg_notify`` in the same transaction) reaches every other process within
milliseconds. The thread owns one autocommit psycopg connection; on any failure it
reports itself not ``alive`` (callers then fall back to polling), waits (0.5 s doubling
to 30 s) and reconnects, calling back once on every (re)connection because
notifications sent while it was away are lost. It stops when :meth:`PgListener.stop`
is called or when the callback returns ``False`` (its owner is gone).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.engine import URL

from report_service.observability import logger

POLL_TIMEOUT_S = 0.5
MAX_BACKOFF_S = 30.0


def libpq_dsn(url: URL) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL (password included)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgListener:
    """``LISTEN channel`` on its own connection in a daemon thread.

    ``callback(True)`` runs on every notification and every (re)connection;
    ``callback(False)`` every ``POLL_TIMEOUT_S`` only asks whether the owner still wants
    the thread. Either answer ``False`` stops the thread.
    """

    def __init__(self, url: URL, channel: str, callback: Callable[[bool], bool]) -> None:
        self._dsn = libpq_dsn(url)
        self._channel = channel
        self._callback = callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.alive = False

    def start(self) -> PgListener:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"frankly-listen-{self._channel}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Ask the thread to stop and wait up to ``timeout_s`` for it."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        import psycopg
        from psycopg import sql

        backoff = 0.5
        while not self._stop.is_set() and self._callback(False):
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self.alive = True
                    backoff = 0.5
                    if not self._callback(True):
                        return
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=POLL_TIMEOUT_S):
                            if not self._callback(True):
                                return
                        if not self._callback(False):
                            return
            except Exception as exc:  # any failure: fall back to polling, retry
                if self.alive:
                    logger().warning(
                        "notification listener lost its connection; polling until it is back",
                        extra={"channel": self._channel, "exc_type": type(exc).__name__},
                    )
            finally:
                self.alive = False
            self._stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

