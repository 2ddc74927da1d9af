"""Decisions: decide the held item (with its hooks and events, in one transaction) and
reopen a decided one. Audited.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from report_service.review.core import Actor, audit
from report_service.review.decisions import store as decision_store
from report_service.review.decisions import taxonomy
from report_service.review.decisions.banking import BankingService, BankUnavailable
from report_service.review.decisions.schemas import DecideOut
from report_service.review.errors import Forbidden, InvalidInput, InvalidState, LeaseRequired
from report_service.review.models import DecisionRow
from report_service.review.moderators.roles import Permission, allows
from report_service.review.queue import store as queue_store
from report_service.review.schemas import ReleasedOut
from report_service.review.views import decision_out, summary
from report_service.storage.models import ReviewItem

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


GuardedDecisionHook = Callable[[Session, ReviewItem, DecisionRow], None]
"""Called in the transaction that records a decision, after its audit entry, inside a
savepoint (e.g. :mod:`report_service.escalation.ncmec` prepares a CyberTipline report).
A hook that raises has its savepoint rolled back and its failure audited
(``decision_hook_failed``); the decision stands."""


ReopenHook = Callable[[Session, DecisionRow, ReviewItem, int], None]
"""Called with a decision just marked reopened (the item back in its queue) and the time,
inside the reopen's transaction, before its audit entry (for example the DSA statement
ender of :mod:`report_service.escalation.dsa.correction`, which withdraws or corrects the
decision's statement of reasons): what it writes commits with the reopen, and a hook that
raises undoes the reopen."""


class DecisionService(BankingService):
    """Decisions (a part of :class:`~report_service.review.service.ReviewService`)."""

    _decision_hooks: tuple[DecisionHook, ...]
    _on_decided: GuardedDecisionHook | None
    _on_reopened: ReopenHook | None

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
        with self._write_turn(), self._sessions.begin() as session:
            item = self._item(session, actor, item_id, lock=True)
            lease = queue_store.get_lease(session, item_id)
            if lease is None or not lease.held_by(actor.name, now) or item.status != "claimed":
                raise LeaseRequired("claim the item (or renew your lease) before deciding")
            # Checked under the lease, like the escalation below: a schema-valid request
            # about an item the caller cannot decide is answered 404/409 first.
            if bank_media and not choice.violation:
                raise InvalidInput("only a violation's media can be banked")
            if choice is taxonomy.Decision.ESCALATE_CHILD_SAFETY and item.child_safety:
                raise InvalidInput("the item is already in the child-safety queue")
            effect = taxonomy.effect(choice)
            row = decision_store.add_decision(
                session, new_decision(item, actor.name, choice.value, policy, note, now)
            )
            queue_store.drop_lease(session, item, status=effect.status, now_ms=now)
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
                # Deferred like claims (one decision per claim): concurrent decisions
                # then share no lock through their commits.
                deferred=self._audit_deferred,
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
            current = decision_store.current_decision(session, item_id)
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


def new_decision(
    item: ReviewItem, moderator: str, decision: str, policy: str, note: str, now: int
) -> DecisionRow:
    """A decision on ``item`` by ``moderator`` at ``now``, nothing banked yet (for
    :func:`decision_store.add_decision`)."""
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
