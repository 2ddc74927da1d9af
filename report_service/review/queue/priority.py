"""Queue order (pure): stored priority plus ageing.

The *stored* ``review_items.priority`` is computed at intake by
:func:`report_service.priority.priority` (bank-match severity, reporter count, reason
severity). A queue serves items by *effective* priority, which adds waiting time so that
nothing starves: one point per :data:`MS_PER_POINT` of age (two minutes, 30 points an hour,
so an hour of waiting is worth about one step of reason severity)::

    effective = priority + (now_ms - created_at) / MS_PER_POINT

Ordering by ``priority * MS_PER_POINT - created_at`` (descending, then ``id`` ascending) is
the same order and needs no clock, so the SQL query uses it as is.
"""

from __future__ import annotations

QUEUE_CHILD_SAFETY = "child_safety"
QUEUE_GENERAL = "general"
QUEUES: tuple[str, ...] = (QUEUE_CHILD_SAFETY, QUEUE_GENERAL)

MS_PER_POINT = 120_000


def effective_priority(priority: int, created_at: int, now_ms: int) -> float:
    """Priority plus ageing, as the queue orders items."""
    return priority + max(0, now_ms - created_at) / MS_PER_POINT


def order_key(priority: int, created_at: int, item_id: int) -> tuple[int, int]:
    """Ascending sort key equal to the queue order: highest effective priority first."""
    return (-(priority * MS_PER_POINT - created_at), item_id)
