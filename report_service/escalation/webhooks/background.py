"""The deliverer as a background task of each ``frankly serve`` process.

Every ``webhook_poll_interval_s`` the task runs one pass of the :class:`.Deliverer` in a
worker thread (the sends are blocking httpx calls; the event loop keeps serving). Several
processes poll the same database safely: each delivery attempt is claimed under a lease.
On shutdown the pass in progress stops after its current attempt; whatever is left is in
the database for the next process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable

from sqlalchemy.orm import Session, sessionmaker

from report_service.escalation.webhooks.deliverer import Deliverer
from report_service.keys import KeyMaterial
from report_service.settings import Settings

_log = logging.getLogger("frankly.webhooks")


def deliverer_from_settings(
    settings: Settings,
    sessions: sessionmaker[Session],
    keys: Callable[[], KeyMaterial],
    clock: Callable[[], int],
    reads: sessionmaker[Session] | None = None,
) -> Deliverer:
    """A deliverer with the settings' schedule, timeout, http policy and retention of
    delivered rows (``reads``: read-only sessions for the idle polls)."""
    return Deliverer(
        sessions,
        keys,
        clock=clock,
        read_session_factory=reads,
        schedule_s=settings.webhook_retry_schedule_s,
        timeout_s=settings.webhook_timeout_s,
        allow_http=settings.webhook_allow_http,
        retention_days=settings.webhook_retention_days,
    )


@contextlib.asynccontextmanager
async def webhook_task(
    settings: Settings,
    sessions: sessionmaker[Session],
    keys: Callable[[], KeyMaterial],
    clock: Callable[[], int],
    reads: sessionmaker[Session] | None = None,
) -> AsyncIterator[None]:
    """Run deliverer passes in the background while the block runs (nothing when
    ``webhook_poll_interval_s`` is 0)."""
    interval = settings.webhook_poll_interval_s
    if interval <= 0:
        yield
        return
    deliverer = deliverer_from_settings(settings, sessions, keys, clock, reads)
    stop = threading.Event()
    wake = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(deliverer.run_once, stop.is_set)
            except Exception:  # a database hiccup: log it and try again next time
                _log.exception("webhook delivery pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), interval)

    task = asyncio.create_task(loop(), name="frankly-webhooks")
    try:
        yield
    finally:
        stop.set()
        wake.set()
        await task
