"""Queues and leases: queue depths, claim the next item, the caller's claims, heartbeat and
release. Every claim and release is audited in its transaction.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from report_service.review.core import Actor, ServiceCore, audit, require
from report_service.review.errors import Forbidden, LeaseLost, NotFound
from report_service.review.items import store as item_store
from report_service.review.moderators.roles import Permission, may_see_item, visible_queues
from report_service.review.queue import store as queue_store
from report_service.review.queue.leases import Lease, lease_duration
from report_service.review.queue.priority import QUEUES
from report_service.review.queue.schemas import ClaimOut, ClaimsOut, QueueOut, QueuesOut
from report_service.review.schemas import LeaseOut, ReleasedOut
from report_service.review.views import lease_out, summary

CLAIM_RETRIES = 5


class QueueService(ServiceCore):
    """Queues and leases (a part of :class:`~report_service.review.service.ReviewService`)."""

    _lease_ms: int

    def queues(self, actor: Actor) -> QueuesOut:
        """Depth and age of each queue the caller may see.

        Raises:
            Forbidden: the role reviews nothing.
        """
        require(actor, Permission.REVIEW)
        now = self._clock()
        out = []
        with self._reads() as session:
            for q in visible_queues(actor.role):
                s = queue_store.queue_stats(session, q, now)
                out.append(
                    QueueOut(
                        queue=q,
                        depth=s.depth,
                        claimed=s.claimed,
                        oldest_age_ms=None
                        if s.oldest_created_at is None
                        else max(0, now - s.oldest_created_at),
                        top_priority=s.top_priority,
                    )
                )
        return QueuesOut(queues=out)

    def claim(self, actor: Actor, queue: str, lease_ms: int | None = None) -> ClaimOut:
        """Claim the next item of ``queue`` under an exclusive lease.

        Raises:
            Forbidden: the role may not claim from this queue.
            NotFound: no such queue.
            InvalidInput: a lease length out of range.
            QueueEmpty: nothing to claim.
        """
        require(actor, Permission.REVIEW)
        if queue not in QUEUES:
            raise NotFound("no such queue")
        if queue not in visible_queues(actor.role):
            raise Forbidden(f"the {actor.role.value} role may not claim from {queue}")
        duration = lease_duration(lease_ms) if lease_ms is not None else self._lease_ms
        for _ in range(CLAIM_RETRIES - 1):
            try:
                return self._claim_once(actor, queue, duration)
            except (IntegrityError, queue_store.ClaimRaced):  # a concurrent writer won; again
                continue
        return self._claim_once(actor, queue, duration)

    def _claim_once(self, actor: Actor, queue: str, duration: int) -> ClaimOut:
        now = self._clock()

        def detail(lease: Lease, taken: str | None) -> dict[str, object]:
            return {"queue": queue, "expires_at": lease.expires_at, "taken_over_from": taken}

        # One transaction, SQLAlchemy Core: pick, mark, lease and audit (queue_store.claim_next).
        with self._write_turn(), self._sessions.begin() as session:
            item, lease, taken = queue_store.claim_next(
                session,
                queue,
                actor.name,
                now,
                duration,
                audit_detail=detail,
                audit_deferred=self._audit_deferred,
            )
            claimed = {"item_id": item.id, "queue": queue, "moderator": actor.name}
            self._events(session, "item.claimed", {**claimed, "lease_expires_at": lease.expires_at})
        return ClaimOut(item=summary(item, now), lease=lease_out(lease), taken_over_from=taken)

    def my_claims(self, actor: Actor) -> ClaimsOut:
        """The items the caller holds under a live lease.

        Raises:
            Forbidden: the role reviews nothing.
        """
        require(actor, Permission.REVIEW)
        now = self._clock()
        with self._sessions() as session:
            out = []
            for lease in sorted(
                queue_store.leases_of(session, actor.name, now), key=lambda x: x.expires_at
            ):
                item = item_store.get_item(session, lease.item_id)
                if may_see_item(actor.role, child_safety=item.child_safety):
                    out.append(ClaimOut(item=summary(item, now), lease=lease_out(lease)))
        return ClaimsOut(claims=out)

    def heartbeat(self, actor: Actor, item_id: int, lease_ms: int | None = None) -> LeaseOut:
        """Extend the caller's live lease on an item.

        Raises:
            Forbidden, NotFound: as for every item call.
            LeaseLost: the caller holds no live lease on it.
        """
        duration = lease_duration(lease_ms) if lease_ms is not None else self._lease_ms
        now = self._clock()
        with self._sessions.begin() as session:
            self._item(session, actor, item_id)
            lease = queue_store.extend_lease(session, item_id, actor.name, now, duration)
            if lease is None:
                raise LeaseLost("you hold no live lease on this item; claim again")
            return lease_out(lease)

    def release(self, actor: Actor, item_id: int) -> ReleasedOut:
        """Hand a held item back to its queue.

        Raises:
            Forbidden, NotFound: as for every item call.
            LeaseLost: the caller holds no live lease on it.
        """
        now = self._clock()
        with self._write_turn(), self._sessions.begin() as session:
            item = self._item(session, actor, item_id, lock=True)
            lease = queue_store.get_lease(session, item_id)
            if lease is None or not lease.held_by(actor.name, now) or item.status != "claimed":
                raise LeaseLost("you hold no live lease on this item")
            queue_store.drop_lease(session, item, status="open", now_ms=now)
            audit(session, now, actor, "release", item_id, {}, deferred=self._audit_deferred)
            return ReleasedOut(item=summary(item, now))
