"""The review service: one function per API call, each one transaction.

Callers (the router, the CLI) authenticate first, then call one method with the
:class:`Actor`. Authorisation is decided here, from :mod:`report_service.review.roles`:
a missing permission is :class:`Forbidden` (403); a child-safety item seen by any other
role is :class:`NotFound` (404), exactly as if it did not exist. Every claim, release,
view, media view, reveal, decision, reopen, banking and account change is appended to the
audit chain in the same transaction as the change it records.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hashes.values import Algorithm, HashValue
from hashes.video import VideoHash
from report_service import tokens
from report_service.errors import AuthError, EvidenceDestroyed, RequestRejected
from report_service.events import EventHook, no_events
from report_service.review import decisions as taxonomy
from report_service.review import media as media_core
from report_service.review import store
from report_service.review.accounts import add_or_reissue, guard_last_admin
from report_service.review.audit import verify_chain
from report_service.review.detail import build_detail
from report_service.review.errors import (
    AuditChainBroken,
    Forbidden,
    InvalidInput,
    InvalidState,
    LeaseLost,
    LeaseRequired,
    MediaUndecodable,
    NotFound,
    RevealRequired,
)
from report_service.review.evidence_access import EvidenceReader
from report_service.review.leases import DEFAULT_LEASE_MS, Lease, lease_duration
from report_service.review.models import DecisionRow, Moderator
from report_service.review.priority import QUEUES
from report_service.review.roles import Permission, Role, allows, may_see_item, visible_queues
from report_service.review.schemas import (
    AuditPageOut,
    AuditVerifyOut,
    BankOut,
    ClaimOut,
    ClaimsOut,
    DecideOut,
    FlaggedOut,
    ItemDetailOut,
    LeaseOut,
    MeOut,
    ModeratorCreatedOut,
    ModeratorOut,
    ModeratorsOut,
    QueueOut,
    QueuesOut,
    ReleasedOut,
)
from report_service.review.views import (
    audit_out,
    decision_out,
    lease_out,
    moderator_out,
    summary,
)
from report_service.storage.models import ReviewItem

CLAIM_RETRIES = 5
ESCALATIONS = {
    taxonomy.Decision.ESCALATE_CHILD_SAFETY.value: "child_safety",
    taxonomy.Decision.ESCALATE_LEGAL.value: "legal",
}
"""Decisions that are also announced as ``item.escalated``, and to whom."""

DecisionHook = Callable[[Session, DecisionRow, ReviewItem], None]
"""Called with every recorded decision inside its transaction, after the item is updated
and before the commit (for example the DSA statement recorder of
:mod:`report_service.escalation.dsa.recorder`, which review never imports): what a hook
writes commits with the decision, and a hook that raises undoes the decision."""


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated moderator."""

    name: str
    role: Role


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


ReopenHook = Callable[[Session, DecisionRow, ReviewItem, int], None]
"""Called with a decision just marked reopened (the item back in its queue) and the time,
inside the reopen's transaction, before its audit entry (for example the DSA statement
ender of :mod:`report_service.escalation.dsa.correction`, which withdraws or corrects the
decision's statement of reasons): what it writes commits with the reopen, and a hook that
raises undoes the reopen."""


GuardedDecisionHook = Callable[[Session, ReviewItem, DecisionRow], None]
"""Called in the transaction that records a decision, after its audit entry, inside a
savepoint (e.g. :mod:`report_service.escalation.ncmec` prepares a CyberTipline report).
A hook that raises has its savepoint rolled back and its failure audited
(``decision_hook_failed``); the decision stands."""


class BankUnavailable(RequestRejected):
    """No hash bank is configured, so media cannot be banked."""

    code = "bank_unavailable"
    status = 503


@dataclass(frozen=True, slots=True)
class Medium:
    """Bytes to send back for a media request."""

    data: bytes
    mime: str


class ReviewService:
    """Moderator review over the service's database.

    ``clock`` returns milliseconds since the epoch; ``evidence`` decrypts report evidence;
    ``banker`` (optional) banks confirmed media; ``decision_hooks`` run inside each
    decision's transaction (:data:`DecisionHook`), ``on_reopened`` inside each reopen's
    (:data:`ReopenHook`).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], int],
        evidence: EvidenceReader,
        banker: Banker | None = None,
        *,
        default_lease_ms: int = DEFAULT_LEASE_MS,
        read_session_factory: sessionmaker[Session] | None = None,
        on_decided: GuardedDecisionHook | None = None,
        events: EventHook | None = None,
        decision_hooks: Sequence[DecisionHook] = (),
        on_reopened: ReopenHook | None = None,
    ) -> None:
        self._sessions = session_factory
        self._decision_hooks = tuple(decision_hooks)
        self._on_reopened = on_reopened
        # Token lookups and queue depths only read: no SQLite write lock for them.
        self._reads = read_session_factory or session_factory
        self._clock = clock
        self._evidence = evidence
        self._banker = banker
        self._lease_ms = default_lease_ms
        self._on_decided = on_decided
        # Told item.claimed / item.decided / item.escalated in the change's transaction.
        self._events: EventHook = events or no_events

    # ------------------------------------------------------------------ accounts

    def authenticate(self, token: str | None) -> Actor:
        """The moderator owning bearer ``token``.

        Raises:
            AuthError: no token, or not the token of an active moderator.
        """
        if not token:
            raise AuthError("a moderator bearer token is required")
        with self._reads() as session:
            try:
                name, role = store.moderator_by_token_hash(session, tokens.hash_token(token))
            except NotFound:
                raise AuthError("unknown or revoked moderator token") from None
        return Actor(name, Role.parse(role))

    def add_moderator(self, actor: str, name: str, role: str) -> ModeratorCreatedOut:
        """Create an account, or reissue a revoked name (see
        :func:`report_service.review.accounts.add_or_reissue`); the token is returned once
        and stored only hashed.

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
            store.revoke_moderator(session, name, now)
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
                moderators=[moderator_out(m) for m in store.list_moderators(session)]
            )

    def me(self, actor: Actor) -> MeOut:
        """Who the caller is and which queues it sees."""
        return MeOut(
            name=actor.name, role=actor.role.value, queues=list(visible_queues(actor.role))
        )

    # ------------------------------------------------------------------ admin via API

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

    # ------------------------------------------------------------------ queues and leases

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
                s = store.queue_stats(session, q, now)
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
            except (IntegrityError, store.ClaimRaced):  # a concurrent writer won; again
                continue
        return self._claim_once(actor, queue, duration)

    def _claim_once(self, actor: Actor, queue: str, duration: int) -> ClaimOut:
        now = self._clock()

        def detail(lease: Lease, taken: str | None) -> dict[str, object]:
            return {"queue": queue, "expires_at": lease.expires_at, "taken_over_from": taken}

        # One transaction, SQLAlchemy Core: pick, mark, lease and audit (store.claim_next).
        with self._sessions.begin() as session:
            item, lease, taken = store.claim_next(
                session, queue, actor.name, now, duration, audit_detail=detail
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
                store.leases_of(session, actor.name, now), key=lambda x: x.expires_at
            ):
                item = store.get_item(session, lease.item_id)
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
            lease = store.extend_lease(session, item_id, actor.name, now, duration)
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
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id, lock=True)
            lease = store.get_lease(session, item_id)
            if lease is None or not lease.held_by(actor.name, now) or item.status != "claimed":
                raise LeaseLost("you hold no live lease on this item")
            store.drop_lease(session, item, status="open", now_ms=now)
            audit(session, now, actor, "release", item_id, {})
            return ReleasedOut(item=summary(item, now))

    # ------------------------------------------------------------------ item detail

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
            return view_item(session, self._evidence, actor, item, lease, now, {"with_lease": held})

    def thumbnail(self, actor: Actor, item_id: int, sha256: str) -> Medium:
        """A blurred grayscale PNG thumbnail of an item's image. Audited.

        Raises:
            Forbidden, NotFound, LeaseRequired: as for the item detail; NotFound also for
                a medium not attached to the item's subject.
            MediaUndecodable: the image cannot be decoded safely.
            EvidenceDestroyed: the evidence was destroyed.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id)
            self._need_lease(session, actor, item, now, lead_may=True)
            if self._is_video(session, item, sha256):  # its first keyframe, blurred
                png = media_core.blurred_thumbnail(self._keyframe(session, item, sha256, 0))
            else:
                data, _mime = self._original(session, item, sha256)
                png = media_core.blurred_thumbnail(data)
            audit(
                session,
                now,
                actor,
                "media_view",
                item_id,
                {"sha256": sha256, "form": "blurred_thumbnail"},
            )
            return Medium(png, "image/png")

    def keyframe(self, actor: Actor, item_id: int, sha256: str, index: int) -> Medium:
        """A blurred grayscale PNG of one stored keyframe of an item's video (the same
        treatment as a picture's thumbnail). Audited (``media_view``).

        Raises:
            Forbidden, NotFound, LeaseRequired, EvidenceDestroyed: as for
                :meth:`thumbnail`; NotFound also for a keyframe the video does not have.
            MediaUndecodable: the stored keyframe cannot be rendered.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id)
            self._need_lease(session, actor, item, now, lead_may=True)
            png = media_core.blurred_thumbnail(self._keyframe(session, item, sha256, index))
            audit(
                session,
                now,
                actor,
                "media_view",
                item_id,
                {"sha256": sha256, "form": "blurred_keyframe", "keyframe": index},
            )
            return Medium(png, "image/png")

    def play(self, actor: Actor, item_id: int, sha256: str) -> Medium:
        """The original bytes of an item's video for the player, only after the caller
        revealed it (an audited ``media_reveal`` with a reason) within
        :data:`media_core.PLAY_AFTER_REVEAL_MS`. Audited (``media_play``).

        Raises:
            Forbidden, NotFound, LeaseRequired, EvidenceDestroyed: as for :meth:`reveal`.
            RevealRequired: the caller has not revealed this video recently.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id)
            self._need_lease(session, actor, item, now, lead_may=True)
            since = now - media_core.PLAY_AFTER_REVEAL_MS
            if not store.revealed_since(session, actor.name, item_id, sha256, since):
                raise RevealRequired("reveal the video first (POST its reveal_url with a reason)")
            data, _mime = self._original(session, item, sha256)
            audit(
                session,
                now,
                actor,
                "media_play",
                item_id,
                {"sha256": sha256},
            )
            return Medium(data, media_core.video_mime(data))

    def _keyframe(self, session: Session, item: ReviewItem, sha256: str, index: int) -> bytes:
        """Keyframe ``index`` of the video ``sha256`` of the item's message, from the first
        report that still holds it.

        Raises:
            NotFound: no such video or keyframe on the item.
            EvidenceDestroyed: every report that carried it had its evidence destroyed.
        """
        held = {m.report_id for m in store.media_of_message(session, item) if m.sha256 == sha256}
        destroyed = False
        undecodable = None
        for video in store.videos_of(session, sorted(held)):
            if video.sha256 != sha256:
                continue
            if video.decode_error is not None:
                undecodable = video.decode_error
            if not 0 <= index < video.keyframe_count:
                continue
            ref = f"{sha256}:{index}"
            try:
                data = self._evidence.read(session, video.report_id, "keyframe", ref)
            except EvidenceDestroyed:
                destroyed = True
                continue
            if data is not None:
                return data
        if destroyed:
            raise EvidenceDestroyed("the evidence of this video was destroyed")
        if undecodable is not None:
            raise MediaUndecodable(f"the video cannot be decoded safely ({undecodable})")
        raise NotFound("no such keyframe on this item")

    def reveal(self, actor: Actor, item_id: int, sha256: str, reason: str) -> Medium:
        """The original bytes of an item's medium, for a stated reason. Audited.

        The rule (docs/review.md, "Originals and banking"): the holder of the item's live
        lease reveals; a lead without the lease may too, as an override: the stated
        reason is required of everyone, and the audit entry says ``with_lease: false,
        override: true`` so that auditors can review every such reveal.

        Raises:
            InvalidInput: the reason is too short or too long.
            Forbidden, NotFound, LeaseRequired, EvidenceDestroyed: as for :meth:`thumbnail`.
        """
        text = taxonomy.check_reason(reason)
        now = self._clock()
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id)
            lease = self._need_lease(session, actor, item, now, lead_may=True)
            held = lease is not None and lease.held_by(actor.name, now)
            data, mime = self._original(session, item, sha256)
            audit(
                session,
                now,
                actor,
                "media_reveal",
                item_id,
                {"sha256": sha256, "reason": text, "with_lease": held, "override": not held},
            )
            return Medium(data, mime)

    @staticmethod
    def _is_video(session: Session, item: ReviewItem, sha256: str) -> bool:
        held = {m.report_id for m in store.media_of_message(session, item) if m.sha256 == sha256}
        return any(v.sha256 == sha256 for v in store.videos_of(session, sorted(held)))

    def _original(self, session: Session, item: ReviewItem, sha256: str) -> tuple[bytes, str]:
        """The medium from the first report about the item that still holds it, among the
        media linked to the item's own message (never another reported message's).

        Raises:
            NotFound: no report about the item's message carries the medium for it.
            EvidenceDestroyed: every report that carried it had its evidence destroyed.
        """
        destroyed = False
        for m in store.media_of_message(session, item):
            if m.sha256 != sha256:
                continue
            try:
                data = self._evidence.read(session, m.report_id, "attachment", sha256)
            except EvidenceDestroyed:
                destroyed = True
                continue
            if data is not None:
                return data, _safe_mime(m.mime)
        if destroyed:
            raise EvidenceDestroyed("the original of this medium was destroyed")
        raise NotFound("no such medium on this item")

    # ------------------------------------------------------------------ decisions

    def decide(
        self,
        actor: Actor,
        item_id: int,
        decision: str,
        policy: str,
        note: str,
        *,
        bank_media: bool = False,
    ) -> DecideOut:
        """Record a decision on the held item; the lease ends. Audited.

        Raises:
            Forbidden, NotFound: as for every item call.
            InvalidInput: bad decision, policy or note; banking a non-violation;
                escalating a child-safety item to child safety.
            LeaseRequired: the caller does not hold the item's live lease.
            BankUnavailable, BankError: banking was asked for and failed (the decision
                stands; retry with ``POST /items/{id}/bank``).
        """
        choice = taxonomy.Decision.parse(decision)
        taxonomy.check_policy(policy)
        taxonomy.check_note(note)
        if bank_media and self._banker is None:
            raise BankUnavailable("no hash bank is configured")
        now = self._clock()
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id, lock=True)
            lease = store.get_lease(session, item_id)
            if lease is None or not lease.held_by(actor.name, now) or item.status != "claimed":
                raise LeaseRequired("claim the item (or renew your lease) before deciding")
            # Checked under the lease, like the escalation below: a schema-valid request
            # about an item the caller cannot decide is answered 404/409 first.
            if bank_media and not choice.violation:
                raise InvalidInput("only a violation's media can be banked")
            if choice is taxonomy.Decision.ESCALATE_CHILD_SAFETY and item.child_safety:
                raise InvalidInput("the item is already in the child-safety queue")
            effect = taxonomy.effect(choice)
            row = store.add_decision(
                session, new_decision(item, actor.name, choice.value, policy, note, now)
            )
            store.drop_lease(session, item, status=effect.status, now_ms=now)
            item.outcome = effect.outcome
            if effect.queue is not None:
                item.queue = effect.queue
            if effect.child_safety is not None:
                item.child_safety = effect.child_safety
            session.flush()
            for hook in self._decision_hooks:
                hook(session, row, item)
            audit(
                session,
                now,
                actor,
                "decide",
                item.id,
                {
                    "decision_id": row.id,
                    "decision": choice.value,
                    "policy": policy,
                    "note_chars": len(note),
                    "queue": item.queue,
                    "bank_media": bank_media,
                },
            )
            if self._on_decided is not None:
                _run_hook(self._on_decided, session, actor, item, row, now)
            self._announce_decision(session, item, row, actor)
            item_out = summary(item, now)
            decided = decision_out(row)
        banked = self._bank(actor, item_id) if bank_media else None
        if banked is not None:
            with self._sessions() as session:
                fresh = session.get(DecisionRow, decided.id)
                if fresh is not None:
                    decided = decision_out(fresh)
        return DecideOut(item=item_out, decision=decided, banked=banked)

    def _announce_decision(
        self, session: Session, item: ReviewItem, row: DecisionRow, actor: Actor
    ) -> None:
        """``item.decided``, and ``item.escalated`` for an escalation, in the decision's
        transaction (ids and outcomes only: never the note)."""
        data = {
            "item_id": item.id,
            "decision_id": row.id,
            "decision": row.decision,
            "policy": row.policy,
            "outcome": item.outcome,
            "status": item.status,
            "queue": item.queue,
            "moderator": actor.name,
        }
        self._events(session, "item.decided", data)
        escalated_to = ESCALATIONS.get(row.decision)
        if escalated_to is not None:
            self._events(session, "item.escalated", {**data, "escalated_to": escalated_to})

    def reopen(self, actor: Actor, item_id: int, reason: str) -> ReleasedOut:
        """Reopen a decided item (a lead; for child-safety items, which leads never see,
        the child_safety role): its decision is marked reopened, the item goes back to
        its queue and the reporter sees no outcome until the next decision.

        Raises:
            Forbidden: neither a lead nor (for a child-safety item) child_safety.
            NotFound: no such item for this role.
            InvalidInput: the reason is too short. InvalidState: the item is not decided.
        """
        lead = allows(actor.role, Permission.REOPEN)
        if not lead and not allows(actor.role, Permission.CHILD_SAFETY):
            raise Forbidden(f"the {actor.role.value} role may not reopen decisions")
        text = taxonomy.check_reason(reason)
        now = self._clock()
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id, lock=True)
            if not lead and not item.child_safety:
                raise Forbidden("only a lead reopens general items")
            if item.status != "decided":
                raise InvalidState("only a decided item can be reopened")
            current = store.current_decision(session, item_id)
            if current is not None:
                current.reopened_at = now
                current.reopened_by = actor.name
                current.reopen_reason = text
            item.status = "open"
            item.outcome = None
            item.updated_at = now
            session.flush()
            if current is not None and self._on_reopened is not None:
                self._on_reopened(session, current, item, now)
            audit(
                session,
                now,
                actor,
                "reopen",
                item_id,
                {"reason": text, "decision_id": None if current is None else current.id},
            )
            return ReleasedOut(item=summary(item, now))

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
            current = store.current_decision(session, item_id)
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
            current = store.current_decision(session, item_id)
            if current is None or not taxonomy.Decision.parse(current.decision).violation:
                raise InvalidState("only a confirmed violation's media can be banked")
            media = store.media_of_message(session, item)
            pdqs = sorted({m.pdq: m.sha256 for m in media if m.pdq}.items())
            held = {(m.report_id, m.sha256) for m in media}
            clips = sorted(
                {
                    v.sha256: v.hash_json
                    for v in store.videos_of(session, sorted({r for r, _ in held}))
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

    # ------------------------------------------------------------------ audit

    def audit_page(self, actor: Actor, f: store.AuditFilter) -> AuditPageOut:
        """A filtered page of the audit log (auditor, admin).

        Raises:
            Forbidden: the role may not read the audit log.
        """
        require(actor, Permission.READ_AUDIT)
        return self.audit_entries(f)

    def audit_entries(self, f: store.AuditFilter) -> AuditPageOut:
        """A filtered page of the audit log, without an actor (the command line)."""
        with self._sessions() as session:
            entries = store.query_audit(session, f)
        nxt = entries[-1].seq if len(entries) == f.limit else None
        return AuditPageOut(entries=[audit_out(e) for e in entries], next_after=nxt)

    def audit_verify(self, actor: Actor | None = None) -> AuditVerifyOut:
        """Verify the whole chain against its recorded head (``actor`` None: the CLI).

        Raises:
            Forbidden: the role may not read the audit log.
        """
        if actor is not None:
            require(actor, Permission.READ_AUDIT)
        with self._sessions() as session:
            head = store.audit_head(session)
            count = store.audit_count(session)
            try:
                verify_chain(store.iter_audit(session), head)
            except AuditChainBroken as exc:
                return AuditVerifyOut(
                    ok=False,
                    entries=count,
                    head_seq=head.seq,
                    head_hash=head.hash,
                    first_broken=exc.position,
                    problem=exc.problem,
                )
        return AuditVerifyOut(
            ok=True,
            entries=count,
            head_seq=head.seq,
            head_hash=head.hash,
            first_broken=None,
            problem=None,
        )

    def audit_position(self, entry_hash: str) -> int | None:
        """Where an entry hash published earlier stands in the log (the command line).

        In a chain that verifies, finding it at ``seq`` N proves entries 1..N are the ones
        that were published; entries after N were appended since. ``None``: it is no longer
        in the log, which was rewritten or truncated.
        """
        with self._sessions() as session:
            return store.audit_seq_of(session, entry_hash.strip().lower())

    # ------------------------------------------------------------------ lead flags

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
            rows = store.flagged_items(session, child_safety=not lead)
            return FlaggedOut(items=[summary(item, now) for item in rows])

    # ------------------------------------------------------------------ helpers

    def _item(
        self, session: Session, actor: Actor, item_id: int, *, lock: bool = False
    ) -> ReviewItem:
        require(actor, Permission.REVIEW)
        try:
            item = store.get_item(session, item_id, lock=lock)
        except NotFound:
            raise NotFound("no such item") from None
        if not may_see_item(actor.role, child_safety=item.child_safety):
            raise NotFound("no such item")
        return item

    def _need_lease(
        self, session: Session, actor: Actor, item: ReviewItem, now: int, *, lead_may: bool
    ) -> Lease | None:
        lease = store.get_lease(session, item.id)
        if lease is not None and lease.held_by(actor.name, now):
            return lease
        if lead_may and allows(actor.role, Permission.VIEW_ANY):
            return lease
        raise LeaseRequired("claim the item first (POST /v1/review/queues/{queue}/claim)")


def _run_hook(
    hook: GuardedDecisionHook,
    session: Session,
    actor: Actor,
    item: ReviewItem,
    row: DecisionRow,
    now: int,
) -> None:
    """Run a :data:`GuardedDecisionHook` in a savepoint; a failure is audited, never
    raised."""
    try:
        with session.begin_nested():
            hook(session, item, row)
    except Exception as exc:  # the decision must stand whatever a hook does
        audit(
            session,
            now,
            actor,
            "decision_hook_failed",
            item.id,
            {"decision_id": row.id, "error": type(exc).__name__},
        )


def _may_override(actor: Actor, item: ReviewItem) -> bool:
    """Whether ``actor`` may act on ``item`` without its lease as an audited override:
    the roles that may reopen it (a lead; for a child-safety item, child_safety)."""
    if item.child_safety:
        return allows(actor.role, Permission.CHILD_SAFETY)
    return allows(actor.role, Permission.REOPEN)


def _asked_to_bank(session: Session, item_id: int, decision_id: int) -> bool:
    """Whether decision ``decision_id`` asked for its media to be banked (its ``decide``
    audit entry records ``bank_media``)."""
    f = store.AuditFilter(action="decide", item_id=item_id, limit=1000)
    return any(
        e.detail.get("decision_id") == decision_id and e.detail.get("bank_media") is True
        for e in store.query_audit(session, f)
    )


def require(
    actor: Actor, permission: Permission, refusal: str = "the {role} role may not do this"
) -> None:
    """Refuse ``actor`` unless its role has ``permission``.

    Raises:
        Forbidden: ``refusal``, with ``{role}`` replaced by the caller's role.
    """
    if not allows(actor.role, permission):
        raise Forbidden(refusal.format(role=actor.role.value))


def new_decision(
    item: ReviewItem, moderator: str, decision: str, policy: str, note: str, now: int
) -> DecisionRow:
    """A decision on ``item`` by ``moderator`` at ``now``, nothing banked yet (for
    :func:`store.add_decision`)."""
    return DecisionRow(
        item_id=item.id,
        sender_id=item.sender_id,
        moderator=moderator,
        decision=decision,
        policy=policy,
        note=note,
        banked=0,
        decided_at=now,
    )


def view_item(
    session: Session,
    evidence: EvidenceReader,
    actor: Actor,
    item: ReviewItem,
    lease: Lease | None,
    now: int,
    detail: dict[str, object],
) -> ItemDetailOut:
    """The item view ``actor``'s role may see, audited as ``item_view`` (with
    ``detail``) in ``session``'s transaction."""
    out = build_detail(session, evidence, actor.role, item, lease, now)
    audit(session, now, actor, "item_view", item.id, detail)
    return out


def audit(
    session: Session,
    now: int,
    actor: Actor | str,
    action: str,
    item_id: int | None,
    detail: dict[str, object],
) -> None:
    """Append ``actor``'s ``action`` (an :class:`Actor` or a name) to the audit chain, in
    ``session``'s transaction, so that it commits with the change it records."""
    name = actor.name if isinstance(actor, Actor) else actor
    store.append_audit(
        session, at_ms=now, actor=name, action=action, item_id=item_id, detail=detail
    )


SAFE_MIME_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "video/mp4"}
)


def _safe_mime(mime: str) -> str:
    """The reporter-supplied type if it is a plain media type, else octet-stream: an
    original is never served as HTML, SVG or script."""
    return mime if mime.lower() in SAFE_MIME_TYPES else "application/octet-stream"
