"""New reports about decided items: which go back to review (policy applied at intake).

Reports about the same message merge into one review item (DESIGN.md, "Review"). When a
report arrives after the item was decided, it goes back to review
(:func:`~report_service.review.decisions.taxonomy.requeue_reason`) if:

- the report makes the item a child-safety item for the first time, whatever the standing
  decision: a general moderator's decision is not the child-safety team's. It goes to the
  child-safety queue. A reporter already counted can trigger this too, but only once: the
  flag never goes back.
- the report comes from a reporter not yet counted on the item and the standing decision
  is ``no_violation``: a cleared message reported by someone else deserves another look.
  Another report from a reporter already counted does not requeue: otherwise one person
  could force a cleared message back to review again and again, while each distinct
  reporter (only a recipient of the message can report it) can do so once.

Otherwise, after a violation (warn, restrict, suspend, escalate to legal), the item stays
decided and the new reporter sees that outcome at once; the platform has already acted.

Sent back, the item is ``open`` with no outcome in the queue its child-safety flag names
(intake has already recomputed its priority with the new reporter count). The decision is
kept in the item's history, marked reopened by :data:`SYSTEM_ACTOR` with the reason, and
one ``item_requeue`` entry goes to the audit chain. Every reporter of the item sees the
report in review (``received``, no outcome) until the next decision. A report while the
item is open or claimed only counts the reporter.

A reporter is counted on an item only if they received that stamped message themselves:
an item is one ``(commitment, sender, conversation)`` (docs/protocol.md, "What makes a
review item") and a reported message must have the reporter as its stamped recipient, so
someone who got the same bytes re-sent by another sender, or in another conversation,
reports another item and cannot re-open this one.

:func:`report_service.storage.reports.store_report` is given :class:`ReviewRequeue` (the
app wires it into :class:`~report_service.intake.Intake`) and calls
:func:`requeue_if_due` under the item's row lock, and :func:`audit_requeues` once every
item of the report is locked, all in the report's transaction, so the change and its
audit entry commit together and the lock order (items, then the audit head) is the one
moderators' calls use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from report_service.priority import queue_for
from report_service.review.audit import store as audit_store
from report_service.review.decisions import store as decision_store
from report_service.review.decisions.taxonomy import Decision, requeue_reason
from report_service.review.models import DecisionRow
from report_service.storage.models import ReviewItem
from report_service.storage.reports import Requeue

__all__ = ["ACTION", "SYSTEM_ACTOR", "Requeue", "ReviewRequeue", "audit_requeues", "requeue_if_due"]

SYSTEM_ACTOR = "system:intake"  # ':' is not allowed in account names, so no one else
ACTION = "item_requeue"


def requeue_if_due(
    session: Session,
    item: ReviewItem,
    now_ms: int,
    *,
    new_reporter: bool,
    became_child_safety: bool,
) -> Requeue | None:
    """Send a decided ``item`` back to its queue if the new report calls for it (see the
    module docstring and :func:`~report_service.review.decisions.taxonomy.requeue_reason`); ``None``
    when it stays as it is. The caller holds the item's row lock and has merged the new
    report into it."""
    if item.status != "decided":
        return None
    current = decision_store.current_decision(session, item.id)
    if current is None:
        return None
    reason = requeue_reason(
        Decision(current.decision),
        new_reporter=new_reporter,
        became_child_safety=became_child_safety,
    )
    if reason is None:
        return None
    current.reopened_at = now_ms
    current.reopened_by = SYSTEM_ACTOR
    current.reopen_reason = reason
    item.status = "open"
    item.outcome = None
    item.queue = queue_for(item.child_safety)
    item.updated_at = now_ms
    session.flush()
    return Requeue(item.id, current.id, reason, item.queue, item.priority, item.reporter_count)


def audit_requeues(
    session: Session, requeues: Iterable[Requeue], report_id: str, now_ms: int
) -> None:
    """Append one ``item_requeue`` entry per requeued item, in the caller's transaction."""
    for r in requeues:
        audit_store.append_audit(
            session,
            at_ms=now_ms,
            actor=SYSTEM_ACTOR,
            action=ACTION,
            item_id=r.item_id,
            detail={
                "reason": r.reason,
                "decision_id": r.decision_id,
                "report_id": report_id,
                "queue": r.queue,
                "priority": r.priority,
                "reporter_count": r.reporter_count,
            },
        )


class ReviewRequeue:
    """This module's policy as the hook intake hands to storage
    (:class:`report_service.storage.reports.RequeuePolicy`). ``on_reopened`` (a
    :data:`report_service.review.decisions.service.ReopenHook`, passed in by the app) is
    called with each decision it marks reopened, in the report's transaction."""

    def __init__(
        self, on_reopened: Callable[[Session, DecisionRow, ReviewItem, int], None] | None = None
    ) -> None:
        self._on_reopened = on_reopened

    def requeue_if_due(
        self,
        session: Session,
        item: ReviewItem,
        now_ms: int,
        *,
        new_reporter: bool,
        became_child_safety: bool,
    ) -> Requeue | None:
        """See :func:`requeue_if_due`."""
        requeued = requeue_if_due(
            session,
            item,
            now_ms,
            new_reporter=new_reporter,
            became_child_safety=became_child_safety,
        )
        if requeued is not None and self._on_reopened is not None:
            decision = session.get(DecisionRow, requeued.decision_id)
            if decision is not None:
                self._on_reopened(session, decision, item, now_ms)
        return requeued

    def audit_requeues(
        self, session: Session, requeues: Iterable[Requeue], report_id: str, now_ms: int
    ) -> None:
        """See :func:`audit_requeues`."""
        audit_requeues(session, requeues, report_id, now_ms)
