"""SQL for moderator accounts: add, revoke, list, and find one by token hash.

Every function takes an open :class:`~sqlalchemy.orm.Session` inside a transaction begun
by the caller; nothing here commits.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from report_service.review.errors import ModeratorExists, NotFound
from report_service.review.models import LeaseRow, Moderator
from report_service.storage.models import ReviewItem


def add_moderator(session: Session, name: str, role: str, token_hash: bytes, now_ms: int) -> None:
    """Insert a moderator.

    Raises:
        ModeratorExists: the name is taken (revoked accounts keep their name).
    """
    if session.get(Moderator, name) is not None:
        raise ModeratorExists(f"moderator {name!r} already exists")
    session.add(Moderator(name=name, role=role, token_hash=token_hash, created_at=now_ms))
    session.flush()


def revoke_moderator(session: Session, name: str, now_ms: int) -> None:
    """Mark a moderator revoked, drop its leases and put their items back (``open``).

    Raises:
        NotFound: no such moderator, or already revoked.
    """
    mod = session.get(Moderator, name, with_for_update=True)
    if mod is None or mod.revoked_at is not None:
        raise NotFound(f"no active moderator {name!r}")
    mod.revoked_at = now_ms
    held = select(LeaseRow.item_id).where(LeaseRow.moderator == name).scalar_subquery()
    # Its items go back to the queue as ``open``: a ``claimed`` item always has a lease row.
    session.execute(
        update(ReviewItem)
        .where(ReviewItem.id.in_(held), ReviewItem.status == "claimed")
        .values(status="open", updated_at=now_ms)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(LeaseRow).where(LeaseRow.moderator == name))
    session.flush()


def list_moderators(session: Session) -> list[Moderator]:
    """Every moderator account, by name."""
    return list(session.scalars(select(Moderator).order_by(Moderator.name)))


def moderator_by_token_hash(session: Session, token_hash: bytes) -> tuple[str, str]:
    """``(name, role)`` of the active moderator whose token hashes to ``token_hash``: one
    lookup of the unique ``token_hash`` index (SQLAlchemy Core, no ORM object), nothing
    cached, so a revocation holds from the next request on.

    Raises:
        NotFound: no active moderator has that token.
    """
    row = session.execute(
        select(Moderator.name, Moderator.role).where(
            Moderator.token_hash == token_hash, Moderator.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        raise NotFound("no such token")
    return str(row.name), str(row.role)
