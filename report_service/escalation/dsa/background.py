"""The statement submitter as a background thread of each ``frankly serve`` process.

Started by the app's lifespan when the Transparency Database is configured
(``dsa_endpoint`` and a token) and ``dsa_submit_interval_s`` is above 0: every interval
the thread looks, with a read-only session, for a due ``pending`` statement, and if there
is one runs a :meth:`.Submitter.run_once` pass. Several processes and hosts share the
work through the database exactly as several ``frankly dsa submit`` runs do: each batch is
claimed under a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on
SQLite) and committed before anything is sent, and an outcome is recorded only while the
lease is still the claimer's (:mod:`.store`); a statement sent twice after a crash is
answered "already there" by the database's PUID check. Nothing lives in process memory.

A refused token (401/403) is logged (never the token) and retried at the next interval,
so that fixing the token needs no restart of the job, only of the settings.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from report_service.escalation.dsa.config import token_from_settings
from report_service.escalation.dsa.models import StatementRow
from report_service.escalation.dsa.submitter import SubmissionRefused, Submitter
from report_service.settings import Settings

log = logging.getLogger("frankly.dsa")


def anything_due(session: Session, now_ms: int) -> bool:
    """Whether a pending statement is due and not held by a live lease (reads only)."""
    q = (
        select(StatementRow.id)
        .where(
            StatementRow.state == "pending",
            StatementRow.next_attempt_at <= now_ms,
            or_(StatementRow.lease_until.is_(None), StatementRow.lease_until <= now_ms),
        )
        .limit(1)
    )
    return session.scalar(q) is not None


def submitter_configured(settings: Settings) -> bool:
    """Whether ``frankly serve`` runs the submitter: an endpoint, a token (setting or
    file) and an interval above 0. Does not read the token file."""
    has_token = settings.dsa_token is not None or settings.dsa_token_file is not None
    return settings.dsa_endpoint is not None and has_token and settings.dsa_submit_interval_s > 0


def start_dsa_submitter(
    settings: Settings,
    sessions: sessionmaker[Session],
    clock: Callable[[], int],
    reads: sessionmaker[Session] | None = None,
) -> Callable[[], None] | None:
    """Start the submitter thread when :func:`submitter_configured`; the function that
    stops it (after the pass in progress), or ``None``.

    Raises:
        ConfigError: the token file cannot be read, is readable by others, or is empty.
    """
    if not submitter_configured(settings) or settings.dsa_endpoint is None:
        return None
    token = token_from_settings(settings)
    if token is None:  # pragma: no cover - submitter_configured saw one
        return None
    owner = f"serve-{socket.gethostname()[:30]}-{os.getpid()}-{threading.get_ident()}"[:64]
    submitter = Submitter(
        sessions,
        settings.dsa_endpoint,
        token,
        clock,
        batch_size=settings.dsa_batch_size,
        owner=owner,
    )
    looks = reads or sessions
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                with looks() as session:
                    due = anything_due(session, clock())
                if due:
                    result = submitter.run_once()
                    if result.submitted or result.rejected or result.retrying:
                        log.info(
                            "dsa statements submitted",
                            extra={
                                "submitted": result.submitted,
                                "rejected": result.rejected,
                                "retrying": result.retrying,
                            },
                        )
            except SubmissionRefused as exc:
                log.error("dsa submission refused", extra={"error": str(exc)})
            except Exception as exc:  # a database or network outage must not end the loop
                log.warning("dsa submitter pass failed", extra={"error": type(exc).__name__})
            stop.wait(settings.dsa_submit_interval_s)

    thread = threading.Thread(target=run, name="frankly-dsa-submitter", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=60)
        submitter.close()

    return halt
