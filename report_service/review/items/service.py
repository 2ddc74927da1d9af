"""The item view (audited as ``item_view``) and the lead's list of flagged items.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from report_service.review.core import Actor, ServiceCore, audit
from report_service.review.errors import Forbidden
from report_service.review.items import store as item_store
from report_service.review.items.detail import build_detail
from report_service.review.items.schemas import FlaggedOut, ItemDetailOut
from report_service.review.media.evidence_access import EvidenceReader
from report_service.review.moderators.roles import Permission, allows
from report_service.review.queue.leases import Lease
from report_service.review.views import summary
from report_service.storage.models import ReviewItem


class ItemService(ServiceCore):
    """Item views (a part of :class:`~report_service.review.service.ReviewService`)."""

    _evidence: EvidenceReader

    def item_detail(self, actor: Actor, item_id: int) -> ItemDetailOut:
        """Everything about an item; needs the lease (or the lead role). Audited.

        Raises:
            Forbidden, NotFound: as for every item call.
            LeaseRequired: neither the lease holder nor a lead.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id)
            lease = self._need_lease(session, actor, item, now, lead_may=True)
            held = lease is not None and lease.held_by(actor.name, now)
            seen: dict[str, object] = {"with_lease": held}
            return view_item(
                session, self._evidence, actor, item, lease, now, seen, self._audit_deferred
            )

    def flagged(self, actor: Actor) -> FlaggedOut:
        """Items flagged for a lead (``lead_flag``, set by migration ``0004`` on items it
        split by stamped message), oldest first: a lead sees the general ones, the
        child_safety role the child-safety ones, as for reopening.

        Raises:
            Forbidden: neither a lead nor child_safety.
        """
        lead = allows(actor.role, Permission.REOPEN)
        if not lead and not allows(actor.role, Permission.CHILD_SAFETY):
            raise Forbidden(f"the {actor.role.value} role may not list flagged items")
        now = self._clock()
        with self._sessions() as session:
            rows = item_store.flagged_items(session, child_safety=not lead)
            return FlaggedOut(items=[summary(item, now) for item in rows])


def view_item(
    session: Session,
    evidence: EvidenceReader,
    actor: Actor,
    item: ReviewItem,
    lease: Lease | None,
    now: int,
    detail: dict[str, object],
    deferred: bool = False,
) -> ItemDetailOut:
    """The item view ``actor``'s role may see, audited as ``item_view`` (with
    ``detail``) in ``session``'s transaction (``deferred``: for the sequencer)."""
    out = build_detail(session, evidence, actor.role, item, lease, now)
    audit(session, now, actor, "item_view", item.id, detail, deferred=deferred)
    return out
