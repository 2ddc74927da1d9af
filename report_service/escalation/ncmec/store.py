"""SQL of the CyberTipline package. Every function runs inside the caller's transaction.

Claiming work. On PostgreSQL :func:`claim_due` selects due rows with ``SELECT ... FOR
UPDATE SKIP LOCKED``, so two submitters never pick the same row; on SQLite writers are
serialised by ``BEGIN IMMEDIATE``. Either way the claim writes a lease (owner and expiry)
that every later step re-checks (:func:`hold`) before it records anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from report_service.escalation.ncmec.models import NcmecFile, NcmecReport
from report_service.review.errors import LeaseLost, NotFound

WORKING = ("approved", "open")


def by_item(session: Session, item_id: int) -> NcmecReport | None:
    """The report of a review item, if one was prepared."""
    return session.scalars(select(NcmecReport).where(NcmecReport.item_id == item_id)).first()


def get(session: Session, report_id: int, *, lock: bool = False) -> NcmecReport:
    """One report by our id.

    Raises:
        NotFound: no such report.
    """
    row = session.get(NcmecReport, report_id, with_for_update=lock)
    if row is None:
        raise NotFound("no such CyberTipline report")
    return row


def files_of(session: Session, row: NcmecReport) -> list[NcmecFile]:
    """A report's files in order."""
    q = select(NcmecFile).where(NcmecFile.report_row == row.id).order_by(NcmecFile.position)
    return list(session.scalars(q))


def list_reports(
    session: Session, status: str | None = None, limit: int = 200
) -> list[NcmecReport]:
    """Reports, newest first, optionally of one status."""
    q = select(NcmecReport).order_by(NcmecReport.id.desc()).limit(limit)
    if status is not None:
        q = q.where(NcmecReport.status == status)
    return list(session.scalars(q))


def prior_reports(session: Session, sender_id: str, exclude: int) -> list[int]:
    """NCMEC report ids of earlier finished reports about the same sender."""
    q = (
        select(NcmecReport.ncmec_report_id)
        .where(
            NcmecReport.sender_id == sender_id,
            NcmecReport.status == "submitted",
            NcmecReport.id != exclude,
            NcmecReport.ncmec_report_id.is_not(None),
        )
        .order_by(NcmecReport.id)
    )
    return [int(x) for x in session.scalars(q) if x is not None]


def claim_due(session: Session, owner: str, now_ms: int, lease_ms: int) -> NcmecReport | None:
    """Lease the next approved or open report that is due and not leased by a live
    submitter; ``None`` when there is none."""
    q = (
        select(NcmecReport)
        .where(
            NcmecReport.status.in_(WORKING),
            NcmecReport.next_attempt_at <= now_ms,
            or_(NcmecReport.lease_expires_at.is_(None), NcmecReport.lease_expires_at < now_ms),
        )
        .order_by(NcmecReport.next_attempt_at, NcmecReport.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    row = session.scalars(q).first()
    if row is None:
        return None
    row.lease_owner = owner
    row.lease_expires_at = now_ms + lease_ms
    session.flush()
    return row


def hold(session: Session, report_id: int, owner: str, now_ms: int, lease_ms: int) -> NcmecReport:
    """The leased row, locked, with its lease extended.

    Raises:
        LeaseLost: another submitter holds it now, or it is no longer being worked on.
    """
    row = get(session, report_id, lock=True)
    if row.lease_owner != owner or row.status not in WORKING:
        raise LeaseLost("the CyberTipline report is no longer leased by this submitter")
    row.lease_expires_at = now_ms + lease_ms
    return row


def add_files(session: Session, row: NcmecReport, files: Sequence[NcmecFile]) -> None:
    """Attach ``files`` to ``row``."""
    for f in files:
        f.report_row = row.id
        session.add(f)
    session.flush()
