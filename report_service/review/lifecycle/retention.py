"""Which reports a retention purge may destroy (pure: states in, a verdict out).

A report's evidence is one unit (one data key), but a report can be about several
messages, so about several review items. :func:`purge_verdict` lets a purge destroy a
report's evidence only when it is under no preservation hold and *every* item it is about
allows it:

0. **Preservation hold.** No active preservation hold keeps the report (an NCMEC
   submission's year, a manual hold: :mod:`report_service.escalation.preservation`). The
   verdict names the hold (:class:`Held`), so a purge can say which one and until when.
   Not even ``frankly evidence destroy`` passes such a hold: the storage layer refuses.
1. **Legal hold.** No item was ever decided ``escalate_legal`` or
   ``escalate_child_safety`` (:data:`LEGAL_HOLD_DECISIONS`), not even by a decision a
   lead later reopened. Escalated evidence may have to be preserved for law enforcement
   or a child-protection hotline (in the US, for example, 18 U.S.C. 2258A(h) asks a
   provider to preserve reported material for a year), so no automatic policy may
   destroy it; only an operator's explicit, audited ``frankly evidence destroy`` can.
2. **Not claimed.** No item is claimed or under a live lease: nobody is looking at it.
3. **Decided.** Every item is decided (``open`` items and items escalated back into a
   queue are still waiting for a moderator).
4. **Old enough.** Every item's standing decision *and* the report's arrival are before
   the cutoff. The second condition matters because a report about an item that was
   decided long ago is merged into it: its evidence is kept for the full period from
   its own arrival.

The checks run in that order, so a held report is always reported as held (and a
report under a preservation hold as that, even when it is also under a legal hold).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from report_service.review.decisions.taxonomy import Decision
from report_service.review.errors import InvalidInput

MS_PER_DAY = 86_400_000
MAX_DAYS = 36_500

LEGAL_HOLD_DECISIONS = frozenset(
    {Decision.ESCALATE_LEGAL.value, Decision.ESCALATE_CHILD_SAFETY.value}
)


class Verdict(enum.StrEnum):
    """What a purge does with one report's evidence, and why."""

    DESTROY = "destroy"
    PRESERVATION_HOLD = "preservation_hold"
    LEGAL_HOLD = "legal_hold"
    CLAIMED = "claimed"
    UNDECIDED = "undecided"
    RECENT = "recent"


@dataclass(frozen=True, slots=True)
class ItemState:
    """What the purge needs to know about one review item of a report.

    ``decided_at`` is the time of the standing (not reopened) decision, ``None`` when
    there is none; ``decisions`` holds every decision ever recorded about the item,
    reopened ones included.
    """

    item_id: int
    status: str
    leased: bool
    decided_at: int | None
    decisions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Held:
    """The active preservation hold that keeps a report (the longest-lasting one when
    several overlap); ``expires_at`` ``None`` = until released."""

    report_id: str
    hold_id: int
    source: str
    reference: str | None
    expires_at: int | None


@dataclass(frozen=True, slots=True)
class ReportState:
    """A report whose evidence still exists, the items it is about, and the active
    preservation hold on it, if any."""

    report_id: str
    received_at: int
    items: tuple[ItemState, ...]
    held: Held | None = None


def purge_cutoff(now_ms: int, days: int) -> int:
    """The cutoff time of a purge of evidence decided more than ``days`` days before
    ``now_ms``.

    Raises:
        InvalidInput: ``days`` is not between 1 and :data:`MAX_DAYS` (a purge of
            everything decided up to now is a typo more often than a policy; destroy
            single reports with ``frankly evidence destroy`` instead).
    """
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"the retention period must be 1 to {MAX_DAYS} days")
    return now_ms - days * MS_PER_DAY


def purge_verdict(report: ReportState, cutoff_ms: int) -> Verdict:
    """Whether a purge with ``cutoff_ms`` destroys ``report``'s evidence (see the module
    docstring for the rules and their order)."""
    items = report.items
    if report.held is not None:
        return Verdict.PRESERVATION_HOLD
    if any(item.decisions & LEGAL_HOLD_DECISIONS for item in items):
        return Verdict.LEGAL_HOLD
    if any(item.leased or item.status == "claimed" for item in items):
        return Verdict.CLAIMED
    if not items or any(item.status != "decided" or item.decided_at is None for item in items):
        return Verdict.UNDECIDED
    if report.received_at >= cutoff_ms or any(
        item.decided_at is None or item.decided_at >= cutoff_ms for item in items
    ):
        return Verdict.RECENT
    return Verdict.DESTROY
