"""Retention of the delivery list: delivered rows go after ``webhook_retention_days``.

A delivered row has done its job (the receiver answered 2xx); keeping it longer only
grows the table. Only ``delivered`` rows are pruned, by the time they were delivered
(``finished_at``): a ``pending`` row is still owed to its receiver, and a ``dead`` one is
unresolved until an operator replays it (then it is pending, and once delivered, pruned
in its turn) or removes its endpoint. Several processes may prune at once: a ``DELETE``
of rows that are already gone deletes nothing.

The deliverer prunes at the start of each pass (:meth:`.Deliverer.run_once`) after a
read-only check, so an idle service takes no write lock for it; ``frankly webhooks prune``
does the same by hand.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, delete, select
from sqlalchemy.orm import Session

from report_service.escalation.webhooks.models import DELIVERED, WebhookDelivery

DAY_MS = 24 * 3600 * 1000
PRUNE_BATCH = 1000


def cutoff_ms(now_ms: int, days: int) -> int:
    """Rows delivered before this time are past a retention of ``days`` days."""
    return now_ms - days * DAY_MS


def _old(before_ms: int) -> ColumnElement[bool]:
    return and_(
        WebhookDelivery.status == DELIVERED,
        WebhookDelivery.finished_at.is_not(None),
        WebhookDelivery.finished_at < before_ms,
    )


def anything_to_prune(session: Session, before_ms: int) -> bool:
    """Whether a row delivered before ``before_ms`` is left (reads only)."""
    q = select(WebhookDelivery.id).where(_old(before_ms)).limit(1)
    return session.scalar(q) is not None


def prune_delivered(session: Session, before_ms: int, limit: int = PRUNE_BATCH) -> int:
    """Delete up to ``limit`` rows delivered before ``before_ms`` (never pending or dead
    ones); how many were deleted. The caller commits."""
    ids = list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(_old(before_ms))
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
    )
    if not ids:
        return 0
    result = session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), _old(before_ms))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
