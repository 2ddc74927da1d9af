"""Rotate and revoke bearer tokens of every kind, audited.

============================  ===============================  =============================
token                         command line                     HTTP (admin)
============================  ===============================  =============================
moderator                     ``frankly moderators rotate``    ``POST /v1/review/moderators/
                              / ``revoke`` / ``add`` (reissue)  {name}/token``, ``DELETE``
reporter / relay user         ``frankly users rotate`` /       ``POST /v1/review/users/
                              ``revoke``                       {name}/token``, ``DELETE``
============================  ===============================  =============================

Tokens are stored only as SHA-256 in the database, so a rotation or revocation takes
effect at once in every process serving it. Every change is appended to the audit chain
in the same transaction (``moderator_rotate``, ``user_rotate``, ``user_revoke``), with the
actor ``cli`` from the command line or the admin's name over HTTP. New tokens are returned
once and never logged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from report_service import tokens
from report_service.review.audit import store as audit_store
from report_service.review.core import Actor
from report_service.review.errors import Forbidden, NotFound
from report_service.review.moderators import accounts
from report_service.review.moderators.roles import Permission, Role, allows
from report_service.review.moderators.schemas import ModeratorCreatedOut
from report_service.review.moderators.token_schemas import TokenIssuedOut, UserOut, UsersOut
from report_service.storage import users
from report_service.storage.models import User


def _need_admin(actor: Actor) -> None:
    if not allows(actor.role, Permission.MANAGE_MODERATORS):
        raise Forbidden(f"the {actor.role.value} role may not manage accounts")


def _user_out(user: User) -> UserOut:
    return UserOut(id=user.id, created_at=user.created_at, revoked_at=user.revoked_at)


class AccountService:
    """Token lifecycle over the service's database; ``clock`` returns ms since the epoch."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Callable[[], int]) -> None:
        self._sessions = session_factory
        self._clock = clock

    # ---------------------------------------------------------------- moderators

    def rotate_moderator(self, actor: str, name: str) -> ModeratorCreatedOut:
        """A new token for an active moderator (shown once); the old one stops working.

        Raises:
            NotFound: no active moderator of that name.
        """
        token = tokens.new_token()
        now = self._clock()
        with self._sessions.begin() as session:
            mod = accounts.rotate(session, name, tokens.hash_token(token))
            role = Role.parse(mod.role).value
            audit_store.append_audit(
                session,
                at_ms=now,
                actor=actor,
                action="moderator_rotate",
                item_id=None,
                detail={"name": name},
            )
        return ModeratorCreatedOut(name=name, role=role, token=token)

    # ---------------------------------------------------------------- users

    def list_users(self, after: str | None = None, limit: int = 100) -> UsersOut:
        """Reporter / relay users by id, after ``after``, at most ``limit`` (never a token);
        ``next`` is the id to pass as ``after`` for the next page, or ``None`` at the end."""
        with self._sessions() as session:
            stmt = select(User).order_by(User.id).limit(limit + 1)
            if after is not None:
                stmt = stmt.where(User.id > after)
            rows = list(session.scalars(stmt))
        page = rows[:limit]
        nxt = page[-1].id if len(rows) > limit else None
        return UsersOut(users=[_user_out(u) for u in page], next=nxt)

    def rotate_user(self, actor: str, name: str) -> TokenIssuedOut:
        """A new token for a user (shown once); a revoked user is re-activated.

        Raises:
            NotFound: no such user.
        """
        token = tokens.new_token()
        now = self._clock()
        with self._sessions.begin() as session:
            reactivated = users.rotate_token(session, name, tokens.hash_token(token))
            audit_store.append_audit(
                session,
                at_ms=now,
                actor=actor,
                action="user_rotate",
                item_id=None,
                detail={"name": name, "reactivated": reactivated},
            )
        return TokenIssuedOut(name=name, token=token, reactivated=reactivated)

    def revoke_user(self, actor: str, name: str) -> UserOut:
        """Revoke a user: its token gets 401 at once; its reports and items stay.

        Raises:
            NotFound: no active user of that name.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            users.revoke(session, name, now)
            audit_store.append_audit(
                session,
                at_ms=now,
                actor=actor,
                action="user_revoke",
                item_id=None,
                detail={"name": name},
            )
            user = session.get(User, name)
            if user is None:  # cannot happen: locked and updated above
                raise NotFound(f"no user {name!r}")
            return _user_out(user)

    # ---------------------------------------------------------------- admin over HTTP

    def admin_rotate_moderator(self, actor: Actor, name: str) -> ModeratorCreatedOut:
        """:meth:`rotate_moderator` for an admin.

        Raises:
            Forbidden: not an admin; NotFound: no active moderator of that name.
        """
        _need_admin(actor)
        return self.rotate_moderator(actor.name, name)

    def admin_list_users(self, actor: Actor, after: str | None, limit: int) -> UsersOut:
        """:meth:`list_users` for an admin.

        Raises:
            Forbidden: not an admin.
        """
        _need_admin(actor)
        return self.list_users(after, limit)

    def admin_rotate_user(self, actor: Actor, name: str) -> TokenIssuedOut:
        """:meth:`rotate_user` for an admin.

        Raises:
            Forbidden: not an admin; NotFound: no such user.
        """
        _need_admin(actor)
        return self.rotate_user(actor.name, name)

    def admin_revoke_user(self, actor: Actor, name: str) -> UserOut:
        """:meth:`revoke_user` for an admin.

        Raises:
            Forbidden: not an admin; NotFound: no active user of that name.
        """
        _need_admin(actor)
        return self.revoke_user(actor.name, name)


@contextmanager
def open_accounts(data: str | Path | None) -> Iterator[AccountService]:
    """An account service on the data folder's database (``None``: the default folder or
    the settings), for the command line; the schema is upgraded first.

    Raises:
        ConfigError: bad settings. StorageError: the database cannot be opened or migrated.
    """
    import time

    from report_service.settings import load_settings
    from report_service.storage.migrate import open_database

    settings = load_settings(None if data is None else Path(data))
    with open_database(settings, create=False) as sessions:
        yield AccountService(sessions, lambda: time.time_ns() // 1_000_000)
