"""SQL for decisions: record one, the standing one, an item's and a sender's history.

Every function takes an open :class:`~sqlalchemy.orm.Session` inside a transaction begun
by the caller; nothing here commits.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from report_service.review.models import DecisionRow
from report_service.storage.models import ReviewItem


def decisions_about_sender(
    session: Session, sender_id: str, *, include_child_safety: bool
) -> list[DecisionRow]:
    """Decisions about a sender's items, newest first (at most 50)."""
    q = (
        select(DecisionRow)
        .join(ReviewItem, ReviewItem.id == DecisionRow.item_id)
        .where(DecisionRow.sender_id == sender_id)
    )
    if not include_child_safety:
        q = q.where(ReviewItem.child_safety.is_(False))
    return list(session.scalars(q.order_by(DecisionRow.decided_at.desc()).limit(50)))


def decisions_of(session: Session, item_id: int) -> list[DecisionRow]:
    """Decisions about an item, oldest first."""
    return list(
        session.scalars(
            select(DecisionRow).where(DecisionRow.item_id == item_id).order_by(DecisionRow.id)
        )
    )


def add_decision(session: Session, row: DecisionRow) -> DecisionRow:
    """Insert a decision row."""
    session.add(row)
    session.flush()
    return row


def current_decision(session: Session, item_id: int) -> DecisionRow | None:
    """The latest decision about an item that has not been reopened."""
    return session.scalars(
        select(DecisionRow)
        .where(DecisionRow.item_id == item_id, DecisionRow.reopened_at.is_(None))
        .order_by(DecisionRow.id.desc())
        .limit(1)
    ).first()
