"""What the review features' services share: the authenticated :class:`Actor`, the
permission check, the audit helper, and the item and lease checks every item call makes.

Authorisation is decided in the feature services, from
:mod:`report_service.review.moderators.roles`: a missing permission is :class:`Forbidden`
(403); a child-safety item seen by any other role is :class:`NotFound` (404), exactly as
if it did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from report_service.events import EventHook
from report_service.review.audit import store as audit_store
from report_service.review.errors import Forbidden, LeaseRequired, NotFound
from report_service.review.items import store as item_store
from report_service.review.moderators.roles import Permission, Role, allows, may_see_item
from report_service.review.queue import store as queue_store
from report_service.review.queue.leases import Lease
from report_service.storage.models import ReviewItem


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated moderator."""

    name: str
    role: Role


class ServiceCore:
    """The state every feature service reads (set by
    :class:`report_service.review.service.ReviewService`), and the checks every item call
    makes."""

    _sessions: sessionmaker[Session]
    _reads: sessionmaker[Session]
    _clock: Callable[[], int]
    _events: EventHook
    # High-volume actions (claim, release, item view, decision) record their audit entry
    # for the sequencer instead of locking the chain head through their commit
    # (audit.store).
    _audit_deferred: bool
    # Claims, releases and decisions take the SQLite writers' turn (storage.write_turn):
    # they queue on a lock that wakes them at once instead of in SQLite's busy handler.
    _write_turn: Callable[[], AbstractContextManager[None]]

    def _item(
        self, session: Session, actor: Actor, item_id: int, *, lock: bool = False
    ) -> ReviewItem:
        require(actor, Permission.REVIEW)
        try:
            item = item_store.get_item(session, item_id, lock=lock)
        except NotFound:
            raise NotFound("no such item") from None
        if not may_see_item(actor.role, child_safety=item.child_safety):
            raise NotFound("no such item")
        return item

    def _need_lease(
        self, session: Session, actor: Actor, item: ReviewItem, now: int, *, lead_may: bool
    ) -> Lease | None:
        lease = queue_store.get_lease(session, item.id)
        if lease is not None and lease.held_by(actor.name, now):
            return lease
        if lead_may and allows(actor.role, Permission.VIEW_ANY):
            return lease
        raise LeaseRequired("claim the item first (POST /v1/review/queues/{queue}/claim)")


def require(
    actor: Actor, permission: Permission, refusal: str = "the {role} role may not do this"
) -> None:
    """Refuse ``actor`` unless its role has ``permission``.

    Raises:
        Forbidden: ``refusal``, with ``{role}`` replaced by the caller's role.
    """
    if not allows(actor.role, permission):
        raise Forbidden(refusal.format(role=actor.role.value))


def audit(
    session: Session,
    now: int,
    actor: Actor | str,
    action: str,
    item_id: int | None,
    detail: dict[str, object],
    *,
    deferred: bool = False,
) -> None:
    """Append ``actor``'s ``action`` (an :class:`Actor` or a name) to the audit chain, in
    ``session``'s transaction, so that it commits with the change it records.

    ``deferred``: record it for the sequencer instead (same transaction, no chain-head
    lock; chained within the sequencing interval, see
    :mod:`report_service.review.audit.store`)."""
    name = actor.name if isinstance(actor, Actor) else actor
    write = audit_store.record_pending if deferred else audit_store.append_audit
    write(session, at_ms=now, actor=name, action=action, item_id=item_id, detail=detail)
