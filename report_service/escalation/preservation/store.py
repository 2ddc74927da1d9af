"""The ``preservation_holds`` table (:class:`report_service.storage.models.PreservationHold`):
rows in, rows out, in the caller's transaction (nothing here commits).

Lock order. Placing a hold locks the ``evidence_keys`` rows of its reports, in report-id
order, before it reads or writes holds; destroying evidence locks the same row
(:func:`report_service.storage.evidence.shred_data_key`) before it checks the holds. So
of a hold and a destruction racing on one report, one waits for the other: the evidence
is never destroyed under a hold that was reported as placed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from report_service.escalation.preservation.errors import NotFound
from report_service.escalation.preservation.policy import Hold
from report_service.storage.models import (
    EvidenceKey,
    PreservationHold,
    Report,
    ReportItem,
    ReviewItem,
)


def to_hold(row: PreservationHold) -> Hold:
    """The pure rules' view of a row."""
    return Hold(
        hold_id=row.id,
        report_id=row.report_id,
        source=row.source,
        placed_at=row.placed_at,
        expires_at=row.expires_at,
        minimum_until=row.minimum_until,
        released_at=row.released_at,
        reference=row.reference,
    )


def lock_evidence_keys(session: Session, report_ids: Sequence[str]) -> dict[str, EvidenceKey]:
    """Lock the evidence-key rows of ``report_ids`` (sorted, ``FOR UPDATE``).

    Raises:
        NotFound: one of the reports does not exist.
    """
    ids = sorted(set(report_ids))
    rows = {
        k.report_id: k
        for k in session.scalars(
            select(EvidenceKey)
            .where(EvidenceKey.report_id.in_(ids))
            .order_by(EvidenceKey.report_id)
            .with_for_update()
        )
    }
    for report_id in ids:
        if report_id not in rows:
            raise NotFound(f"no report {report_id!r}")
    return rows


def find_hold(
    session: Session, report_id: str, source: str, reference: str
) -> PreservationHold | None:
    """The hold of ``(report_id, source, reference)``, released or not."""
    return session.scalars(
        select(PreservationHold).where(
            PreservationHold.report_id == report_id,
            PreservationHold.source == source,
            PreservationHold.reference == reference,
        )
    ).first()


def get_hold(session: Session, hold_id: int, *, lock: bool = False) -> PreservationHold:
    """One hold by id (row-locked when ``lock``).

    Raises:
        NotFound: no such hold.
    """
    row = session.get(PreservationHold, hold_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"no preservation hold {hold_id}")
    return row


def list_holds(
    session: Session, now_ms: int, *, include_inactive: bool, report_id: str | None = None
) -> list[PreservationHold]:
    """Holds by id; only active ones unless ``include_inactive``."""
    stmt = select(PreservationHold).order_by(PreservationHold.id)
    if report_id is not None:
        stmt = stmt.where(PreservationHold.report_id == report_id)
    if not include_inactive:
        stmt = stmt.where(
            PreservationHold.released_at.is_(None),
            or_(PreservationHold.expires_at.is_(None), PreservationHold.expires_at > now_ms),
        )
    return list(session.scalars(stmt))


def first_item_of(session: Session, report_id: str) -> int | None:
    """The lowest review item id a report is about (for the audit entry's ``item_id``)."""
    return session.scalars(
        select(ReportItem.item_id)
        .where(ReportItem.report_id == report_id)
        .order_by(ReportItem.item_id)
        .limit(1)
    ).first()


def resolve_target(
    session: Session, target: str, *, item: bool | None = None
) -> tuple[list[str], int | None]:
    """``REPORT_OR_ITEM`` of the command line: a report id, else a review item id (all its
    reports); ``item`` true or false takes it as only one of the two. Returns the report
    ids and the item id (``None`` for a report).

    Raises:
        NotFound: neither a report nor a review item with reports.
    """
    if item is not True and session.get(Report, target) is not None:
        return [target], None
    if item is not False and target.isascii() and target.isdigit() and len(target) <= 18:
        row = session.get(ReviewItem, int(target))
        if row is not None:
            ids = list(
                session.scalars(
                    select(ReportItem.report_id)
                    .where(ReportItem.item_id == row.id)
                    .order_by(ReportItem.report_id)
                )
            )
            if ids:
                return ids, row.id
    raise NotFound(f"no report or review item {target!r}")
