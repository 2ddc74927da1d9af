"""SQL for the facts of review items: the item, its reports and messages, bank matches,
other items about the sender, and the lead's flagged items.

Every function takes an open :class:`~sqlalchemy.orm.Session` inside a transaction begun
by the caller; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from report_service.review.errors import NotFound
from report_service.storage.models import BankMatch, Report, ReportItem, ReportMessage, ReviewItem


def get_item(session: Session, item_id: int, *, lock: bool = False) -> ReviewItem:
    """The review item ``item_id`` (row-locked when ``lock``).

    Raises:
        NotFound: no such item.
    """
    q = select(ReviewItem).where(ReviewItem.id == item_id)
    if lock:
        q = q.with_for_update(of=ReviewItem)
    item = session.scalars(q).first()
    if item is None:
        raise NotFound("no such item")
    return item


def reports_of(session: Session, item_id: int) -> list[Report]:
    """The reports merged into an item, oldest first."""
    return list(
        session.scalars(
            select(Report)
            .join(ReportItem, ReportItem.report_id == Report.report_id)
            .where(ReportItem.item_id == item_id)
            .order_by(Report.received_at, Report.report_id)
        )
    )


def messages_of(session: Session, report_ids: Sequence[str]) -> list[ReportMessage]:
    """Verified message facts of the reports, in time order."""
    if not report_ids:
        return []
    return list(
        session.scalars(
            select(ReportMessage)
            .where(ReportMessage.report_id.in_(report_ids))
            .order_by(ReportMessage.timestamp_ms, ReportMessage.position, ReportMessage.id)
        )
    )


def matches_of(session: Session, report_ids: Sequence[str]) -> list[BankMatch]:
    """Bank matches of the reports' media."""
    if not report_ids:
        return []
    return list(
        session.scalars(
            select(BankMatch)
            .where(BankMatch.report_id.in_(report_ids))
            .order_by(BankMatch.sha256, BankMatch.severity.desc(), BankMatch.id)
        )
    )


def flagged_items(session: Session, *, child_safety: bool, limit: int = 500) -> list[ReviewItem]:
    """Items with a ``lead_flag`` in the general or the child-safety queue, oldest first."""
    return list(
        session.scalars(
            select(ReviewItem)
            .where(ReviewItem.lead_flag.is_not(None), ReviewItem.child_safety.is_(child_safety))
            .order_by(ReviewItem.id)
            .limit(limit)
        )
    )


def other_items_of_sender(
    session: Session, sender_id: str, exclude_item: int, *, include_child_safety: bool
) -> list[ReviewItem]:
    """Other items about the same sender, newest first (at most 50)."""
    q = select(ReviewItem).where(ReviewItem.sender_id == sender_id, ReviewItem.id != exclude_item)
    if not include_child_safety:
        q = q.where(ReviewItem.child_safety.is_(False))
    return list(session.scalars(q.order_by(ReviewItem.created_at.desc()).limit(50)))


def items_of_report(session: Session, report_id: str, *, lock: bool = False) -> list[ReviewItem]:
    """The review items a report is about, by id (row-locked, in that order, when
    ``lock``)."""
    q = (
        select(ReviewItem)
        .join(ReportItem, ReportItem.item_id == ReviewItem.id)
        .where(ReportItem.report_id == report_id)
        .order_by(ReviewItem.id)
    )
    if lock:
        q = q.with_for_update(of=ReviewItem)
    return list(session.scalars(q))
