"""The review service: one method per API call, each one transaction.

:class:`ReviewService` is the one surface that the router, the console, the command line
and the escalation features call; it is composed of one part per feature folder
(:mod:`~report_service.review.moderators`, :mod:`~report_service.review.queue`,
:mod:`~report_service.review.items`, :mod:`~report_service.review.media`,
:mod:`~report_service.review.decisions`, :mod:`~report_service.review.audit`), which share
the checks of :mod:`report_service.review.core`. Callers authenticate first, then call one
method with the :class:`~report_service.review.core.Actor`. Every claim, release, view,
media view, reveal, decision, reopen, banking and account change is appended to the audit
chain in the same transaction as the change it records.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy.orm import Session, sessionmaker

from report_service.events import EventHook, no_events
from report_service.review.audit.service import AuditService
from report_service.review.decisions.banking import Banker
from report_service.review.decisions.service import (
    DecisionHook,
    DecisionService,
    GuardedDecisionHook,
    ReopenHook,
)
from report_service.review.items.service import ItemService
from report_service.review.media.evidence_access import EvidenceReader
from report_service.review.media.service import MediaService
from report_service.review.moderators.service import ModeratorService
from report_service.review.queue.leases import DEFAULT_LEASE_MS
from report_service.review.queue.service import QueueService


class ReviewService(
    ModeratorService, QueueService, ItemService, MediaService, DecisionService, AuditService
):
    """Moderator review over the service's database.

    ``clock`` returns milliseconds since the epoch; ``evidence`` decrypts report evidence;
    ``banker`` (optional) banks confirmed media; ``decision_hooks`` run inside each
    decision's transaction (:data:`DecisionHook`), ``on_reopened`` inside each reopen's
    (:data:`ReopenHook`).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], int],
        evidence: EvidenceReader,
        banker: Banker | None = None,
        *,
        default_lease_ms: int = DEFAULT_LEASE_MS,
        read_session_factory: sessionmaker[Session] | None = None,
        on_decided: GuardedDecisionHook | None = None,
        events: EventHook | None = None,
        decision_hooks: Sequence[DecisionHook] = (),
        on_reopened: ReopenHook | None = None,
        audit_deferred: bool = False,
        write_turn: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> None:
        self._sessions = session_factory
        # Claims, releases, item views and decisions record their audit entries for the
        # sequencer (audit.store.record_pending) instead of holding the chain head to their
        # commit.
        self._audit_deferred = audit_deferred
        # On SQLite the turn that intake's stores take too (storage.write_turn).
        self._write_turn = write_turn or nullcontext
        self._decision_hooks = tuple(decision_hooks)
        self._on_reopened = on_reopened
        # Token lookups and queue depths only read: no SQLite write lock for them.
        self._reads = read_session_factory or session_factory
        self._clock = clock
        self._evidence = evidence
        self._banker = banker
        self._lease_ms = default_lease_ms
        self._on_decided = on_decided
        # Told item.claimed / item.decided / item.escalated in the change's transaction.
        self._events: EventHook = events or no_events
