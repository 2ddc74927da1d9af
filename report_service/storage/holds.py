"""Which preservation holds keep a report's evidence right now (the read side the
storage layer needs to refuse destroying held evidence).

A hold is active while it is not released and not expired: ``released_at IS NULL AND
(expires_at IS NULL OR expires_at > now)``. This is the SQL form of
:func:`report_service.escalation.preservation.policy.is_active` (storage never imports the
feature packages); a test checks that the two agree on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from report_service.errors import EvidenceHeld
from report_service.storage.models import PreservationHold


def active_holds(
    session: Session, report_ids: Sequence[str], now_ms: int
) -> list[PreservationHold]:
    """The active holds on ``report_ids``, the longest-lasting first per report (an
    indefinite hold before any expiring one, then by later expiry, then by id)."""
    if not report_ids:
        return []
    stmt = (
        select(PreservationHold)
        .where(
            PreservationHold.report_id.in_(list(report_ids)),
            PreservationHold.released_at.is_(None),
            or_(PreservationHold.expires_at.is_(None), PreservationHold.expires_at > now_ms),
        )
        .order_by(
            PreservationHold.report_id,
            case((PreservationHold.expires_at.is_(None), 0), else_=1),
            PreservationHold.expires_at.desc(),
            PreservationHold.id,
        )
    )
    return list(session.scalars(stmt))


def describe_hold(hold: PreservationHold) -> str:
    """``hold 7 (ncmec, reference CT-123) until 2027-01-01T00:00:00Z`` for messages."""
    ref = f", reference {hold.reference}" if hold.reference else ""
    until = "until released" if hold.expires_at is None else f"until {_when(hold.expires_at)}"
    return f"preservation hold {hold.id} ({hold.source}{ref}) {until}"


def refuse_if_held(session: Session, report_id: str, now_ms: int) -> None:
    """Raise when an active hold keeps ``report_id``'s evidence.

    Raises:
        EvidenceHeld: naming the longest-lasting active hold.
    """
    holds = active_holds(session, [report_id], now_ms)
    if holds:
        first = holds[0]
        more = f" and {len(holds) - 1} more" if len(holds) > 1 else ""
        raise EvidenceHeld(
            f"the evidence of report {report_id} is under {describe_hold(first)}{more}; "
            f"release it first (frankly evidence release {first.id} --reason ...)",
            hold_id=first.id,
            expires_at=first.expires_at,
        )


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
