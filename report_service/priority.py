"""Review priority at intake, from hash-bank severity, reporter count and reason.

Pure. :mod:`report_service.review.queue.priority` adds the item's age at query time; this is
the part known when a report arrives::

    priority = reason_severity(reason)          (10..100)
             + 2 * max_bank_severity            (0..100: a bank match weighs double)
             + 5 * min(reporter_count, 10)
"""

from __future__ import annotations

from collections.abc import Iterable, Set

from client_scan.report_format import Reason

REASON_SEVERITY: dict[str, int] = {
    Reason.CHILD_SAFETY: 100,
    Reason.TERRORISM: 80,
    Reason.NCII: 80,
    Reason.SELF_HARM: 70,
    Reason.VIOLENCE: 60,
    Reason.HATE: 40,
    Reason.HARASSMENT: 40,
    Reason.SCAM: 30,
    Reason.SPAM: 10,
    Reason.OTHER: 10,
}

CHILD_SAFETY_QUEUE = "child_safety"
GENERAL_QUEUE = "general"
MAX_COUNTED_REPORTERS = 10
DEFAULT_CHILD_SAFETY_CATEGORIES = frozenset({"child_safety", "csam", "csae", "cse"})


def reason_severity(reason: str) -> int:
    """The severity of a report reason (10 to 100; unknown reasons count as ``other``)."""
    return REASON_SEVERITY.get(reason, REASON_SEVERITY[Reason.OTHER])


def priority(reason: str, max_bank_severity: int, reporter_count: int) -> int:
    """Stored item priority, higher first (see the module docstring)."""
    bank = max(0, min(max_bank_severity, 100))
    reporters = min(max(reporter_count, 1), MAX_COUNTED_REPORTERS)
    return reason_severity(reason) + 2 * bank + 5 * reporters


def is_child_safety(
    reason: str,
    categories: Iterable[str],
    child_safety_categories: Set[str] = DEFAULT_CHILD_SAFETY_CATEGORIES,
) -> bool:
    """Whether an item belongs in the child-safety queue: by reason or by a bank category."""
    if reason == Reason.CHILD_SAFETY:
        return True
    return any(c.lower() in child_safety_categories for c in categories)


def queue_for(child_safety: bool) -> str:
    """The queue an item starts in."""
    return CHILD_SAFETY_QUEUE if child_safety else GENERAL_QUEUE
