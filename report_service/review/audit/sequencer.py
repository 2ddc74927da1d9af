"""The audit sequencer as a background thread of each ``frankly serve`` process.

Started by the app's lifespan when claims, releases, item views and decisions defer
their audit entries (``FRANKLY_AUDIT_SEQUENCING``). Every interval it looks, with a
read-only session, for an entry waiting in ``audit_pending``; if there is one it chains
what is waiting under the chain-head lock (:func:`~report_service.review.audit.store.
sequence_pending`), without waiting for the lock: when another process's sequencer or
an audited action holds it, that transaction chains the waiting entries itself (every
:func:`~report_service.review.audit.store.append_audit` does), and this one looks again
at the next interval. Nothing lives in process memory, so any number of processes and
hosts run one each. On shutdown it chains what is left, waiting for the lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from report_service.review.audit import store as audit_store
from report_service.review.models import AuditPendingRow

log = logging.getLogger("frankly.audit")

#: Entries chained per transaction by one pass (a backlog takes several passes).
PASS_LIMIT = 5000


def anything_waiting(session: Session) -> bool:
    """Whether an audit entry waits for the chain (reads only)."""
    return session.scalar(select(AuditPendingRow.id).limit(1)) is not None


def sequence_once(
    sessions: sessionmaker[Session],
    reads: sessionmaker[Session] | None = None,
    *,
    wait: bool = False,
) -> int:
    """One pass: chain up to :data:`PASS_LIMIT` waiting entries if any wait; how many.

    ``wait`` false: give up (0) while another transaction holds the chain head.
    """
    with (reads or sessions)() as session:
        if not anything_waiting(session):
            return 0
    with sessions.begin() as session:
        return audit_store.sequence_pending(session, wait=wait, limit=PASS_LIMIT)


def start_audit_sequencer(
    sessions: sessionmaker[Session],
    interval_s: float,
    reads: sessionmaker[Session] | None = None,
) -> Callable[[], None]:
    """Start the sequencer thread; the function that stops it (after chaining what is
    left)."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval_s):
            try:
                while sequence_once(sessions, reads) >= PASS_LIMIT and not stop.is_set():
                    continue  # a backlog: the next pass at once
            except Exception as exc:  # a database outage must not end the loop
                log.warning("audit sequencing pass failed", extra={"error": type(exc).__name__})

    thread = threading.Thread(target=run, name="frankly-audit-sequencer", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=60)
        try:
            while sequence_once(sessions, reads, wait=True) >= PASS_LIMIT:
                continue
        except Exception as exc:  # the database may be gone at shutdown; entries stay stored
            log.warning("audit sequencing at shutdown failed", extra={"error": type(exc).__name__})

    return halt
