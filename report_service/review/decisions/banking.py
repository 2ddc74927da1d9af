"""Banking a confirmed violation's media into the hash banks, as part of a decision or
afterwards as its retry or an audited override.
"""

from __future__ import annotations

import json
from typing import Protocol

from sqlalchemy.orm import Session

from hashes.values import Algorithm, HashValue
from hashes.video import VideoHash
from report_service.errors import RequestRejected
from report_service.review.audit import store as audit_store
from report_service.review.core import Actor, ServiceCore, audit
from report_service.review.decisions import store as decision_store
from report_service.review.decisions import taxonomy
from report_service.review.decisions.schemas import BankOut
from report_service.review.errors import Forbidden, InvalidState, LeaseRequired
from report_service.review.media import store as media_store
from report_service.review.models import DecisionRow
from report_service.review.moderators.roles import Permission, allows
from report_service.storage.models import ReviewItem


class ListHeaderLike(Protocol):
    """What the review package needs from a banked list version."""

    @property
    def list_id(self) -> str: ...

    @property
    def version(self) -> int: ...


class Banker(Protocol):
    """The service's hash banks (:class:`report_service.banks.HashBanks`)."""

    def add_entry(
        self, value: HashValue, category: str, entry_id: str | None, now_ms: int
    ) -> ListHeaderLike:
        """Bank one hash as a new signed list version (nothing new if already held)."""
        ...

    def holds(self, value: HashValue, category: str) -> bool:
        """Whether the bank already holds ``value`` under ``category``."""
        ...

    def add_video(
        self, video: VideoHash, category: str, entry_id: str | None, now_ms: int
    ) -> ListHeaderLike:
        """Bank one video (vPDQ and file digests) as a new signed list version."""
        ...

    def holds_video(self, video: VideoHash, category: str) -> bool:
        """Whether the bank already holds ``video`` under ``category``."""
        ...


class BankUnavailable(RequestRejected):
    """No hash bank is configured, so media cannot be banked."""

    code = "bank_unavailable"
    status = 503


class BankingService(ServiceCore):
    """Banking (a part of :class:`~report_service.review.service.ReviewService`)."""

    _banker: Banker | None

    def bank(self, actor: Actor, item_id: int, reason: str | None = None) -> BankOut:
        """Bank the PDQ hashes of a decided violation's images. Audited.

        Banking is part of a decision made under the lease (``bank_media``). Afterwards,
        without a lease, it is allowed only as (docs/review.md, "Originals and banking"):

        - the retry of a decision that asked for banking, by the moderator who made it
          (banking can fail after the decision is recorded, and the decision stands);
        - an override by whoever may reopen the item (a lead; child_safety for a
          child-safety item), with a stated ``reason`` written to the audit log
          (``bank_media`` with ``override: true``).

        Anyone else, including a decision that chose ``bank_media: false``, gets
        :class:`LeaseRequired`.

        Raises:
            Forbidden, NotFound: as for every item call; Forbidden also for a ``reason``
                from a role that may not override.
            InvalidInput: the reason is too short or too long.
            LeaseRequired: neither the asking decider's retry nor an override.
            InvalidState: the item's standing decision is not a violation, or it has no
                image with a PDQ hash.
            BankUnavailable: no bank is configured. BankError: the bank refused.
        """
        text = None if reason is None else taxonomy.check_reason(reason)
        with self._sessions() as session:
            item = self._item(session, actor, item_id)
            current = decision_store.current_decision(session, item_id)
            if current is None or not taxonomy.Decision.parse(current.decision).violation:
                raise InvalidState("only a confirmed violation's media can be banked")
            if text is not None:
                if not _may_override(actor, item):
                    raise Forbidden(f"the {actor.role.value} role may not override banking")
            elif not (
                current.moderator == actor.name and _asked_to_bank(session, item_id, current.id)
            ):
                raise LeaseRequired(
                    "media is banked as part of a decision made under the lease "
                    "(bank_media); a lead may override with a stated reason"
                )
        override = None if text is None else {"override": True, "reason": text}
        return self._bank(actor, item_id, override)

    def _bank(
        self, actor: Actor, item_id: int, override: dict[str, object] | None = None
    ) -> BankOut:
        with self._sessions() as session:
            item = self._item(session, actor, item_id)
            current = decision_store.current_decision(session, item_id)
            if current is None or not taxonomy.Decision.parse(current.decision).violation:
                raise InvalidState("only a confirmed violation's media can be banked")
            media = media_store.media_of_message(session, item)
            pdqs = sorted({m.pdq: m.sha256 for m in media if m.pdq}.items())
            held = {(m.report_id, m.sha256) for m in media}
            clips = sorted(
                {
                    v.sha256: v.hash_json
                    for v in media_store.videos_of(session, sorted({r for r, _ in held}))
                    if (v.report_id, v.sha256) in held and v.hash_json
                }.items()
            )
            category = item.reason
            decision_id = current.id
        if not pdqs and not clips:
            raise InvalidState("the item has no image with a PDQ hash and no hashed video")
        if self._banker is None:
            raise BankUnavailable("no hash bank is configured")
        list_id = ""
        version = 0
        added = 0
        for pdq, sha in pdqs:
            value = HashValue.from_hex(Algorithm.PDQ, pdq)
            # Banking again (a retry, or after a reopen) must not grow the list with copies.
            added += not self._banker.holds(value, category)
            header = self._banker.add_entry(
                value, category, f"review-{item_id}-{sha[:16]}", self._clock()
            )
            list_id, version = header.list_id, header.version
        for sha, raw in clips:
            video = VideoHash.from_dict(json.loads(raw))
            added += not self._banker.holds_video(video, category)
            header = self._banker.add_video(
                video, category, f"review-{item_id}-{sha[:16]}", self._clock()
            )
            list_id, version = header.list_id, header.version
        now = self._clock()
        with self._sessions.begin() as session:
            row = session.get(DecisionRow, decision_id, with_for_update=True)
            if row is not None:
                row.banked += added
            audit(
                session,
                now,
                actor,
                "bank_media",
                item_id,
                {
                    "list_id": list_id,
                    "list_version": version,
                    "pdq": [p for p, _ in pdqs],
                    "sha256": [s for _, s in pdqs],
                    **({"videos": [s for s, _ in clips]} if clips else {}),
                    "added": added,
                    **(override or {}),
                },
            )
        return BankOut(
            list_id=list_id,
            list_version=version,
            hashes=[p for p, _ in pdqs],
            videos=[s for s, _ in clips],
        )


def _may_override(actor: Actor, item: ReviewItem) -> bool:
    """Whether ``actor`` may act on ``item`` without its lease as an audited override:
    the roles that may reopen it (a lead; for a child-safety item, child_safety)."""
    if item.child_safety:
        return allows(actor.role, Permission.CHILD_SAFETY)
    return allows(actor.role, Permission.REOPEN)


def _asked_to_bank(session: Session, item_id: int, decision_id: int) -> bool:
    """Whether decision ``decision_id`` asked for its media to be banked (its ``decide``
    audit entry records ``bank_media``). The entry may still wait for the sequencer (a
    deferred decision, banked right after it): waiting entries are read first, then the
    chain (:func:`audit_store.waiting_details` says why in that order)."""
    waiting = audit_store.waiting_details(session, action="decide", item_id=item_id)
    f = audit_store.AuditFilter(action="decide", item_id=item_id, limit=1000)
    chained = [e.detail for e in audit_store.query_audit(session, f)]
    return any(
        d.get("decision_id") == decision_id and d.get("bank_media") is True
        for d in (*waiting, *chained)
    )
