"""Moderator accounts: authenticate a bearer token, add, revoke and list accounts (from the
command line, or by an admin over HTTP), and who the caller is. Audited.
"""

from __future__ import annotations

from report_service import tokens
from report_service.errors import AuthError
from report_service.review.core import Actor, ServiceCore, audit, require
from report_service.review.errors import NotFound
from report_service.review.models import Moderator
from report_service.review.moderators import store as moderator_store
from report_service.review.moderators.accounts import add_or_reissue, guard_last_admin
from report_service.review.moderators.roles import Permission, Role, visible_queues
from report_service.review.moderators.schemas import (
    MeOut,
    ModeratorCreatedOut,
    ModeratorOut,
    ModeratorsOut,
)
from report_service.review.views import moderator_out


class ModeratorService(ServiceCore):
    """Moderator accounts (a part of :class:`~report_service.review.service.ReviewService`)."""

    def authenticate(self, token: str | None) -> Actor:
        """The moderator owning bearer ``token``.

        Raises:
            AuthError: no token, or not the token of an active moderator.
        """
        if not token:
            raise AuthError("a moderator bearer token is required")
        with self._reads() as session:
            try:
                name, role = moderator_store.moderator_by_token_hash(
                    session, tokens.hash_token(token)
                )
            except NotFound:
                raise AuthError("unknown or revoked moderator token") from None
        return Actor(name, Role.parse(role))

    def add_moderator(self, actor: str, name: str, role: str) -> ModeratorCreatedOut:
        """Create an account, or reissue a revoked name (see
        :func:`report_service.review.moderators.accounts.add_or_reissue`); the token is
        returned once and stored only hashed.

        Raises:
            InvalidInput: bad role; InvalidRequest: bad name; ModeratorExists: an active
                account has the name.
        """
        parsed = Role.parse(role)
        tokens.check_user_name(name)
        token = tokens.new_token()
        now = self._clock()
        with self._sessions.begin() as session:
            revoked_at = add_or_reissue(session, name, parsed.value, tokens.hash_token(token), now)
            detail: dict[str, str | int] = {"name": name, "role": parsed.value}
            if revoked_at is not None:
                detail["reissued_after_revocation_at"] = revoked_at
            audit(
                session,
                now,
                actor,
                "moderator_add",
                None,
                dict(detail),
            )
        return ModeratorCreatedOut(name=name, role=parsed.value, token=token)

    def revoke_moderator(self, actor: str, name: str, *, force: bool = False) -> ModeratorOut:
        """Revoke an account (its token stops working; its leases end). The last active
        admin is kept unless ``force`` (the command line's ``--force`` only).

        Raises:
            NotFound: no active moderator of that name.
            LastAdmin: ``name`` is the last active admin and ``force`` is not set.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            if not force:
                guard_last_admin(session, name)
            moderator_store.revoke_moderator(session, name, now)
            audit(
                session,
                now,
                actor,
                "moderator_revoke",
                None,
                {"name": name},
            )
            mod = session.get(Moderator, name)
            if mod is None:
                raise NotFound(f"no moderator {name!r}")
            return moderator_out(mod)

    def list_moderators(self) -> ModeratorsOut:
        """Every account (never a token)."""
        with self._sessions() as session:
            return ModeratorsOut(
                moderators=[moderator_out(m) for m in moderator_store.list_moderators(session)]
            )

    def me(self, actor: Actor) -> MeOut:
        """Who the caller is and which queues it sees."""
        return MeOut(
            name=actor.name, role=actor.role.value, queues=list(visible_queues(actor.role))
        )

    def admin_list(self, actor: Actor) -> ModeratorsOut:
        """List accounts (admin).

        Raises:
            Forbidden: not an admin.
        """
        require(actor, Permission.MANAGE_MODERATORS)
        return self.list_moderators()

    def admin_add(self, actor: Actor, name: str, role: str) -> ModeratorCreatedOut:
        """Create an account (admin).

        Raises:
            Forbidden: not an admin; see :meth:`add_moderator`.
        """
        require(actor, Permission.MANAGE_MODERATORS)
        return self.add_moderator(actor.name, name, role)

    def admin_revoke(self, actor: Actor, name: str) -> ModeratorOut:
        """Revoke an account (admin).

        Raises:
            Forbidden: not an admin; NotFound: no such active account.
            LastAdmin: it is the last active admin (never forced over HTTP).
        """
        require(actor, Permission.MANAGE_MODERATORS)
        return self.revoke_moderator(actor.name, name)
