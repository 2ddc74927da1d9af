"""User storage: add, list, look up by token hash, rotate and revoke tokens.

A revoked user (``revoked_at`` set, migration ``0008``) keeps its row (its reports refer
to it) but its token is refused at once; :func:`rotate_token` re-activates it with a new
token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from report_service.errors import Conflict, NotFound
from report_service.storage.models import User


def add_user(session: Session, user_id: str, token_hash: bytes, now_ms: int) -> User:
    """Insert a user (commits).

    Raises:
        Conflict: a user with this id already exists.
    """
    existing = session.get(User, user_id)
    if existing is not None and existing.revoked_at is not None:
        raise Conflict(
            f"user {user_id!r} exists and is revoked; `frankly users rotate {user_id}` "
            "reissues it with a new token"
        )
    if existing is not None:
        raise Conflict(f"user {user_id!r} already exists")
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


# The bearer-token lookups run on every authenticated request, on a Core connection of
# the read engine (storage.engine.read_engine) with statements built once: an ORM session
# and a freshly built statement cost several times the query itself (issue 11, section 3).
_USERS = User.__table__
_ACTIVE_TOKEN = and_(_USERS.c.token_hash == bindparam("token_hash"), _USERS.c.revoked_at.is_(None))
_USER_ID_BY_TOKEN = select(_USERS.c.id).where(_ACTIVE_TOKEN)

ExtraColumn = Callable[[ColumnElement[str]], ColumnElement[Any]]


def user_id_by_token_hash(conn: Connection, token_hash: bytes) -> str | None:
    """The id of the active (not revoked) user whose token hashes to ``token_hash``, or
    ``None`` for an unknown or revoked token."""
    user_id = conn.execute(_USER_ID_BY_TOKEN, {"token_hash": token_hash}).scalar()
    return None if user_id is None else str(user_id)


def user_id_by_token_hash_with(
    conn: Connection, token_hash: bytes, extra: ExtraColumn
) -> tuple[str, Any] | None:
    """The id of the active user whose token hashes to ``token_hash`` and the value of
    ``extra(users.id)`` (a scalar subquery, such as the rate limiter's stored state), read
    in one statement; ``None`` for an unknown or revoked token. The statement is built
    once per ``extra`` (a bound method such as ``limiter.stored_tat`` is equal to itself
    on every access)."""
    row = conn.execute(_user_id_with(extra), {"token_hash": token_hash}).first()
    return None if row is None else (str(row[0]), row[1])


@functools.lru_cache(maxsize=16)  # one per app's limiter; tests build many apps
def _user_id_with(extra: ExtraColumn) -> Select[tuple[Any, Any]]:
    return select(_USERS.c.id, extra(_USERS.c.id)).where(_ACTIVE_TOKEN)


def active_user_exists(session: Session, user_id: str) -> bool:
    """Whether a user with this id exists and is not revoked (the relay delivers only to
    those: a revoked user could never fetch or acknowledge, so its inbox would only fill)."""
    user = session.get(User, user_id)
    return user is not None and user.revoked_at is None


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


def rotate_token(session: Session, user_id: str, token_hash: bytes) -> bool:
    """Give a user a new token hash and clear any revocation (flushes, does not commit);
    the old token stops working. Returns whether the user was revoked before.

    Raises:
        NotFound: no such user.
    """
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(f"no user {user_id!r}")
    was_revoked = user.revoked_at is not None
    user.token_hash = token_hash
    user.revoked_at = None
    session.flush()
    return was_revoked


def revoke(session: Session, user_id: str, now_ms: int) -> None:
    """Mark a user revoked (flushes, does not commit): its token gets 401 from now on.

    Raises:
        NotFound: no such user, or already revoked.
    """
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.revoked_at is not None:
        raise NotFound(f"no active user {user_id!r}")
    user.revoked_at = now_ms
    session.flush()
