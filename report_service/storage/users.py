"""User storage: add, list, and look up by token hash."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from report_service.errors import Conflict, NotFound
from report_service.storage.models import User


def add_user(session: Session, user_id: str, token_hash: bytes, now_ms: int) -> User:
    """Insert a user (commits).

    Raises:
        Conflict: a user with this id already exists.
    """
    user = User(id=user_id, token_hash=token_hash, created_at=now_ms)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"user {user_id!r} already exists") from None
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by id."""
    return list(session.scalars(select(User).order_by(User.id)))


def user_by_token_hash(session: Session, token_hash: bytes) -> User | None:
    """The user whose token hashes to ``token_hash``, if any."""
    return session.scalars(select(User).where(User.token_hash == token_hash)).first()


def user_exists(session: Session, user_id: str) -> bool:
    """Whether a user with this id exists."""
    return session.get(User, user_id) is not None


def reset_token(session: Session, user_id: str, token_hash: bytes) -> None:
    """Replace a user's token hash (commits); the old token stops working.

    Raises:
        NotFound: no such user.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id!r}")
    user.token_hash = token_hash
    session.commit()
