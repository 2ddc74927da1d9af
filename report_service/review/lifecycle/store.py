"""SQL for the evidence lifecycle: which reports still hold evidence, and which were
destroyed.

Every function takes an open :class:`~sqlalchemy.orm.Session` inside a transaction begun
by the caller; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from report_service.storage.models import EvidenceKey, Report


def destroyed_reports(session: Session, report_ids: Sequence[str]) -> set[str]:
    """The reports among ``report_ids`` whose evidence was destroyed (wrapped key gone)."""
    if not report_ids:
        return set()
    return set(
        session.scalars(
            select(EvidenceKey.report_id).where(
                EvidenceKey.report_id.in_(report_ids), EvidenceKey.wrapped_key.is_(None)
            )
        )
    )


def live_evidence_reports(
    session: Session, received_before: int, after: str, limit: int
) -> list[tuple[str, int]]:
    """``(report_id, received_at)`` of reports received before ``received_before`` whose
    evidence still exists, by report id after ``after`` (keyset paging), at most ``limit``."""
    rows = session.execute(
        select(Report.report_id, Report.received_at)
        .join(EvidenceKey, EvidenceKey.report_id == Report.report_id)
        .where(
            EvidenceKey.wrapped_key.is_not(None),
            Report.received_at < received_before,
            Report.report_id > after,
        )
        .order_by(Report.report_id)
        .limit(limit)
    ).all()
    return [(r, t) for r, t in rows]


def count_live_evidence_since(session: Session, received_since: int) -> int:
    """How many reports received at or after ``received_since`` still have evidence."""
    return int(
        session.execute(
            select(func.count())
            .select_from(Report)
            .join(EvidenceKey, EvidenceKey.report_id == Report.report_id)
            .where(EvidenceKey.wrapped_key.is_not(None), Report.received_at >= received_since)
        ).scalar_one()
    )
