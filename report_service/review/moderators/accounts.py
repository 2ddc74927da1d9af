"""SQL for the account lifecycle: reissuing a revoked moderator name, rotating a
moderator's token, and the last-admin guard.

Like :mod:`report_service.review.moderators.store`, nothing here commits: the caller's transaction
also appends the audit entry. The guard locks every active admin row (``SELECT ... FOR
UPDATE``, in name order) before counting, so two admins revoking each other at once on
PostgreSQL cannot both pass it; on SQLite every transaction is ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from report_service.review.errors import LastAdmin, ModeratorExists, NotFound
from report_service.review.models import Moderator
from report_service.review.moderators.roles import Role


def active_admins(session: Session) -> list[str]:
    """The names of the active admins, their rows locked until the transaction ends."""
    return list(
        session.scalars(
            select(Moderator.name)
            .where(Moderator.role == Role.ADMIN.value, Moderator.revoked_at.is_(None))
            .order_by(Moderator.name)
            .with_for_update()
        )
    )


def guard_last_admin(session: Session, name: str) -> None:
    """Refuse to take away the last active admin.

    Raises:
        LastAdmin: ``name`` is the only active admin.
    """
    admins = active_admins(session)
    if admins == [name]:
        raise LastAdmin(
            f"{name!r} is the last active admin; add another admin first "
            "(only `frankly moderators revoke --force` on the command line may do this)"
        )


def add_or_reissue(
    session: Session, name: str, role: str, token_hash: bytes, now_ms: int
) -> int | None:
    """Create a moderator, or re-activate a revoked account of the same name with a new
    token and the given role. Returns the old ``revoked_at`` when it was a reissue.

    The account row is re-activated rather than a second row added: the name is the
    moderator's identity in leases, decisions and the audit log, and the audit log keeps
    both lifetimes apart (``moderator_revoke`` then ``moderator_add`` with ``reissued``).

    Raises:
        ModeratorExists: an active account already has the name.
    """
    mod = session.get(Moderator, name, with_for_update=True)
    if mod is None:
        session.add(Moderator(name=name, role=role, token_hash=token_hash, created_at=now_ms))
        session.flush()
        return None
    if mod.revoked_at is None:
        raise ModeratorExists(f"moderator {name!r} already exists")
    revoked_at = mod.revoked_at
    mod.role = role
    mod.token_hash = token_hash
    mod.created_at = now_ms
    mod.revoked_at = None
    session.flush()
    return revoked_at


def rotate(session: Session, name: str, token_hash: bytes) -> Moderator:
    """Give an active moderator a new token hash; the old token stops working.

    Raises:
        NotFound: no active moderator of that name.
    """
    mod = session.get(Moderator, name, with_for_update=True)
    if mod is None or mod.revoked_at is not None:
        raise NotFound(f"no active moderator {name!r}")
    mod.token_hash = token_hash
    session.flush()
    return mod
