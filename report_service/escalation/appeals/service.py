"""Statements for their subjects, appeals by them, and the review of appeals.

One method per API call, each one transaction. A reported user (the stamped sender of a
decided item, authenticated with their own user token) reads their statements of reasons
and files an appeal within six months (DSA Art. 20(1)); one open appeal per decision.
An appeal is review work for a moderator other than the decider: claimed under a lease
(:mod:`report_service.review.queue.leases`), then upheld or reversed. A reversal supersedes the
decision (marked reopened by the appeal), records a ``no_violation`` decision by the
reviewer, withdraws the statement if it was never sent, and queues a corrected statement
that gives the restriction its end date, which is the only correction the Transparency
Database's API allows (it has no update or delete). Every step is audited in the
hash-chained log, and ``events`` is told ``appeal.created`` / ``appeal.decided`` (ids
only) inside the same transaction.

A reporter (their own user token) may likewise complain about the decision on their own
decided report (DSA Art. 20 covers notifiers): the same review work, recorded in the same
table without a statement (:meth:`AppealsService.file_complaint`). A reversal of a
reporter's complaint re-opens the item for a fresh decision in the ordinary review queue
(the decision is marked reopened by the appeal, as a lead's reopen does), so the new
decision goes through review's own rules and decision hooks (a violation gets its
statement of reasons there).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from client_scan.errors import ReportFormatError
from client_scan.report_format import normalise_report_id
from report_service.errors import StorageError
from report_service.escalation.appeals import schemas
from report_service.escalation.appeals.errors import (
    AppealExists,
    AppealWindowClosed,
    DeciderExcluded,
    NotAppealable,
)
from report_service.escalation.appeals.models import AppealRow
from report_service.escalation.appeals.notices import APPEAL_HOW, SUPERSEDED
from report_service.escalation.dsa.correction import end_statement
from report_service.escalation.dsa.mapping import DsaMapping
from report_service.escalation.dsa.models import StatementRow
from report_service.review.core import Actor, audit, require
from report_service.review.decisions import store as decision_store
from report_service.review.decisions.service import new_decision
from report_service.review.decisions.taxonomy import check_reason
from report_service.review.errors import (
    InvalidInput,
    InvalidState,
    LeaseRequired,
    NotFound,
    QueueEmpty,
)
from report_service.review.items import store as item_store
from report_service.review.items.schemas import ItemDetailOut
from report_service.review.items.service import view_item
from report_service.review.media.evidence_access import EvidenceReader
from report_service.review.models import DecisionRow
from report_service.review.moderators.roles import Permission, allows, may_see_item
from report_service.review.queue import store as queue_store
from report_service.review.queue.leases import DEFAULT_LEASE_MS, holds, lease_duration
from report_service.storage.models import ReportItem, ReviewItem
from report_service.storage.reports import own_report_id

Events = Callable[[Session, str, dict[str, object]], None]
APPEAL_WINDOW_MS = 183 * 24 * 3600 * 1000  # six months (Art. 20(1))
APPELLANT_ACTOR = "appellant"
SUPERSEDED_REASON = (
    "Reviewed together with another complaint about the same decision, which was "
    "reversed: the decision you contested no longer stands. The new decision can be "
    "contested in its turn."
)
ENDED_WORDS = {
    "appeal": " (reversed on your appeal; the restriction has ended)",
    "reopened": " (re-opened for a fresh review; the restriction has ended, and a new "
    "decision comes with its own statement)",
}


def no_events(session: Session, event_type: str, data: dict[str, object]) -> None:
    """The default ``events``: nothing."""


class AppealsService:
    """Statements and appeals over the service's database."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], int],
        mapping: DsaMapping,
        random: Callable[[int], bytes],
        events: Events = no_events,
        evidence: EvidenceReader | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._mapping = mapping
        self._random = random
        self._events = events
        self._evidence = evidence

    # ------------------------------------------------------------------ the reported user

    def statements_of(self, user: str) -> schemas.StatementsOut:
        """The statements of reasons about ``user``'s messages, newest first."""
        with self._sessions() as session:
            rows = list(
                session.scalars(
                    select(StatementRow)
                    .where(StatementRow.subject_id == user)
                    .order_by(StatementRow.id.desc())
                    .limit(500)
                )
            )
            return schemas.StatementsOut(statements=[self._statement_out(session, r) for r in rows])

    def _statement_out(self, session: Session, row: StatementRow) -> schemas.StatementOut:
        """``row`` as its subject sees it now: a decision's statement stands until a
        correction ends it (reversed on their appeal, or its decision re-opened for a
        fresh review); a correction says when and why the restriction ended."""
        original = (
            row
            if row.kind == "decision"
            else None
            if row.corrects_id is None
            else session.get(StatementRow, row.corrects_id)
        )
        correction = (
            row
            if row.kind == "correction"
            else session.scalars(
                select(StatementRow)
                .where(StatementRow.corrects_id == row.id)
                .order_by(StatementRow.id)
                .limit(1)
            ).first()
        )
        standing = row.kind == "decision" and correction is None
        appeal = session.scalars(
            select(AppealRow).where(AppealRow.statement_id == row.id).order_by(AppealRow.id.desc())
        ).first()
        restriction = self._mapping.restrictions.get(row.decision)
        summary = restriction.summary if restriction else row.decision
        ended_because: Literal["appeal", "reopened"] | None = None
        if correction is not None:
            reversed_on_appeal = session.scalar(
                select(AppealRow.id)
                .where(
                    AppealRow.statement_id == (row.id if original is None else original.id),
                    AppealRow.outcome == "reverse",
                )
                .limit(1)
            )
            ended_because = "appeal" if reversed_on_appeal is not None else "reopened"
            summary += ENDED_WORDS[ended_because]
            if row.kind == "correction":
                summary = f"Correction of statement {row.corrects_id}: {summary}"
        return schemas.StatementOut(
            statement_id=row.id,
            kind="correction" if row.kind == "correction" else "decision",
            decision=row.decision,
            policy=row.policy,
            summary=summary,
            message_id=row.message_id,
            message_at=row.message_at,
            decided_at=row.created_at if original is None else original.created_at,
            standing=standing,
            appealable_until=row.created_at + APPEAL_WINDOW_MS if standing else None,
            appeal_id=None if appeal is None else appeal.id,
            ended_at=None if correction is None else correction.created_at,
            ended_because=ended_because,
            how_to_appeal=APPEAL_HOW,
            transparency_database=json.loads(row.payload),
        )

    def file_appeal(self, user: str, statement_id: int, reason: str) -> schemas.AppealOut:
        """File an appeal against the decision of one of ``user``'s statements. Audited
        (``appeal_file``).

        Raises:
            NotFound: no such statement about ``user``. InvalidInput: blank reason.
            NotAppealable, AppealWindowClosed, AppealExists: see their docstrings.
        """
        text = reason.strip()
        if not text or "\x00" in text:
            raise InvalidInput("state the reason for the appeal")
        now = self._clock()
        try:
            with self._sessions.begin() as session:
                row = session.get(StatementRow, statement_id)
                if row is None or row.subject_id != user:
                    raise NotFound("no such statement")
                corrected = session.scalar(
                    select(StatementRow.id).where(StatementRow.corrects_id == row.id).limit(1)
                )
                if row.kind != "decision" or corrected is not None:
                    raise NotAppealable("this statement no longer stands or is a correction")
                if now > row.created_at + APPEAL_WINDOW_MS:
                    raise AppealWindowClosed("appeals are accepted for six months after a decision")
                earlier = session.scalars(
                    select(AppealRow.status).where(AppealRow.decision_id == row.decision_id)
                ).all()
                _refuse_repeat(
                    earlier,
                    "an appeal against this decision is already open",
                    "this decision was already reviewed on appeal",
                )
                decision = session.get(DecisionRow, row.decision_id)
                item = item_store.get_item(session, row.item_id)
                appeal = AppealRow(
                    statement_id=row.id,
                    decision_id=row.decision_id,
                    item_id=row.item_id,
                    appellant=user,
                    reason=text,
                    status="open",
                    open_key=row.decision_id,
                    decider="" if decision is None else decision.moderator,
                    child_safety=item.child_safety,
                    created_at=now,
                )
                return self._record_filing(
                    session,
                    appeal,
                    now,
                    {"statement_id": row.id, "decision_id": row.decision_id},
                    {"statement_id": row.id},
                )
        except IntegrityError:  # a concurrent appeal took open_key first
            raise AppealExists("an appeal against this decision is already open") from None

    def file_complaint(self, user: str, report_id: str, reason: str) -> schemas.AppealOut:
        """File ``user``'s complaint against the decision on their own decided report
        (its deciding item's standing decision, the one the report's notice words).
        Audited (``appeal_file``).

        Raises:
            NotFound: no such report of ``user``'s. InvalidInput: blank reason.
            NotAppealable: the report is not decided, or ``user`` already had a complaint
            about this decision reviewed. AppealWindowClosed: six months have passed.
            AppealExists: ``user``'s complaint about this decision is still open.
        """
        text = reason.strip()
        if not text or "\x00" in text:
            raise InvalidInput("state the reason for the complaint")
        try:
            canonical = normalise_report_id(report_id)
        except ReportFormatError:
            raise NotFound("no such report") from None
        now = self._clock()
        try:
            with self._sessions.begin() as session:
                stored = own_report_id(session, user, canonical)
                if stored is None:
                    raise NotFound("no such report")
                items = list(
                    session.scalars(
                        select(ReviewItem)
                        .join(ReportItem, ReportItem.item_id == ReviewItem.id)
                        .where(ReportItem.report_id == stored)
                        .order_by(ReviewItem.priority.desc(), ReviewItem.id)
                    )
                )
                if not items or any(i.status != "decided" for i in items):
                    raise NotAppealable("the report is not decided")
                top = items[0]
                current = decision_store.current_decision(session, top.id)
                if current is None:
                    raise NotAppealable("the report is not decided")
                if now > current.decided_at + APPEAL_WINDOW_MS:
                    raise AppealWindowClosed(
                        "complaints are accepted for six months after a decision"
                    )
                earlier = session.scalars(
                    select(AppealRow.status).where(
                        AppealRow.decision_id == current.id,
                        AppealRow.appellant == user,
                        AppealRow.statement_id.is_(None),
                    )
                ).all()
                _refuse_repeat(
                    earlier,
                    "your complaint about this decision is already open",
                    "your complaint about this decision was already reviewed",
                )
                appeal = AppealRow(
                    statement_id=None,
                    report_id=canonical,
                    decision_id=current.id,
                    item_id=top.id,
                    appellant=user,
                    reason=text,
                    status="open",
                    open_key=None,
                    complaint_key=f"{current.id}:{user}",
                    decider=current.moderator,
                    child_safety=top.child_safety,
                    created_at=now,
                )
                return self._record_filing(
                    session,
                    appeal,
                    now,
                    {"by": "reporter", "decision_id": current.id},
                    {"statement_id": None, "decision_id": current.id},
                )
        except IntegrityError:  # a concurrent complaint took complaint_key first
            raise AppealExists("your complaint about this decision is already open") from None

    def _record_filing(
        self,
        session: Session,
        appeal: AppealRow,
        now: int,
        audit_detail: dict[str, object],
        event_data: dict[str, object],
    ) -> schemas.AppealOut:
        """Store a new appeal or complaint, audit it (``appeal_file``) and announce it
        (``appeal.created``), all in ``session``'s transaction."""
        session.add(appeal)
        session.flush()
        held = next(
            (
                o
                for o in _siblings(session, appeal, lock=True)
                if o.status == "claimed" and (o.lease_until or 0) > now
            ),
            None,
        )
        if held is not None:  # joins the reviewer's claim on the same decision
            appeal.status = "claimed"
            appeal.claimed_by = held.claimed_by
            appeal.lease_until = held.lease_until
            audit_detail = {**audit_detail, "joins_claim_of": held.id}
        detail = {"appeal_id": appeal.id, **audit_detail, "reason_chars": len(appeal.reason)}
        audit(session, now, APPELLANT_ACTOR, "appeal_file", appeal.item_id, detail)
        self._events(session, "appeal.created", {"appeal_id": appeal.id, **event_data})
        return _appeal_out(appeal)

    def appeal_of(self, user: str, appeal_id: int) -> schemas.AppealOut:
        """One of ``user``'s appeals.

        Raises:
            NotFound: no such appeal by ``user``.
        """
        with self._sessions() as session:
            appeal = session.get(AppealRow, appeal_id)
            if appeal is None or appeal.appellant != user:
                raise NotFound("no such appeal")
            return _appeal_out(appeal)

    # ------------------------------------------------------------------ reviewers

    def review_list(
        self, actor: Actor, *, include_decided: bool = False
    ) -> schemas.AppealsReviewOut:
        """Appeals the caller's role may see, oldest first (open and claimed, or all).

        Raises:
            Forbidden: the role reviews nothing.
        """
        _need_review(actor)
        with self._sessions() as session:
            q = select(AppealRow).order_by(AppealRow.id).limit(500)
            if not include_decided:
                q = q.where(AppealRow.status != "decided")
            if not allows(actor.role, Permission.CHILD_SAFETY):
                q = q.where(AppealRow.child_safety.is_(False))
            return schemas.AppealsReviewOut(
                appeals=[_review_out(session, a) for a in session.scalars(q)]
            )

    def all_appeals(self, *, include_decided: bool) -> schemas.AppealsReviewOut:
        """Every appeal (the command line), oldest first."""
        with self._sessions() as session:
            q = select(AppealRow).order_by(AppealRow.id)
            if not include_decided:
                q = q.where(AppealRow.status != "decided")
            return schemas.AppealsReviewOut(
                appeals=[_review_out(session, a) for a in session.scalars(q)]
            )

    def claim(
        self, actor: Actor, appeal_id: int | None, lease_ms: int | None = None
    ) -> schemas.AppealReviewOut:
        """Claim an appeal (``None``: the oldest claimable one the caller did not decide)
        under a lease. Audited (``appeal_claim``).

        Raises:
            Forbidden; NotFound: no such appeal for this role; QueueEmpty: nothing to
            claim; DeciderExcluded: the caller made the decision; InvalidState: decided or
            held by someone else.
        """
        _need_review(actor)
        duration = DEFAULT_LEASE_MS if lease_ms is None else lease_duration(lease_ms)
        now = self._clock()
        with self._sessions.begin() as session:
            if appeal_id is None:
                appeal, group = self._next_claimable(session, actor, now)
            else:
                appeal = self._visible(session, actor, appeal_id, lock=False)
                group = _lock_group(session, appeal.decision_id)
                if appeal.decider == actor.name:
                    raise DeciderExcluded(
                        "you made the decision under appeal; another moderator must review it"
                    )
                if appeal not in group:
                    raise InvalidState("the appeal is already decided")
                if _held_by_another(appeal, actor, now):
                    raise InvalidState("another moderator holds this appeal")
            joint = [o for o in group if o.id != appeal.id]
            if any(_held_by_another(o, actor, now) for o in joint):
                raise InvalidState("another moderator holds an appeal about the same decision")
            taken = appeal.claimed_by if appeal.status == "claimed" else None
            for claimed in (appeal, *joint):  # one reviewer answers both parties
                claimed.status = "claimed"
                claimed.claimed_by = actor.name
                claimed.lease_until = now + duration
            session.flush()
            audit(
                session,
                now,
                actor,
                "appeal_claim",
                appeal.item_id,
                {
                    "appeal_id": appeal.id,
                    "expires_at": appeal.lease_until,
                    "taken_over_from": taken,
                    "joint_with": [o.id for o in joint],
                },
            )
            return _review_out(session, appeal)

    def _next_claimable(
        self, session: Session, actor: Actor, now: int
    ) -> tuple[AppealRow, list[AppealRow]]:
        """The oldest appeal ``actor`` may claim now, and its decision's undecided
        appeals, row-locked in id order (every path locks a decision's appeals in that
        order, so two reviewers never wait on each other in a circle).

        Raises:
            QueueEmpty: none.
        """
        other = aliased(AppealRow)
        held_by_another = (
            select(other.id)
            .where(
                other.decision_id == AppealRow.decision_id,
                other.status == "claimed",
                other.lease_until > now,
                other.claimed_by != actor.name,
            )
            .exists()
        )
        q = (
            select(AppealRow.id, AppealRow.decision_id)
            .where(
                AppealRow.decider != actor.name,
                or_(
                    AppealRow.status == "open",
                    (AppealRow.status == "claimed") & (AppealRow.lease_until <= now),
                ),
                ~held_by_another,
            )
            .order_by(AppealRow.id)
            .limit(3)
        )
        if not allows(actor.role, Permission.CHILD_SAFETY):
            q = q.where(AppealRow.child_safety.is_(False))
        for appeal_id, decision_id in session.execute(q).all():
            group = _lock_group(session, decision_id)
            mine = next((a for a in group if a.id == appeal_id), None)
            if (
                mine is not None
                and not (mine.status == "claimed" and (mine.lease_until or 0) > now)
                and not any(_held_by_another(a, actor, now) for a in group)
            ):
                return mine, group
        raise QueueEmpty("no appeal to claim")

    def item_view(self, actor: Actor, appeal_id: int) -> ItemDetailOut:
        """The item under appeal, as the item view shows it (verified facts, transcript,
        reporters' words, history), for the holder of the appeal's live claim. Media links
        in it need the item's own lease (or a lead). Audited (``item_view`` with the
        appeal id).

        Raises:
            Forbidden, NotFound: as for claiming. DeciderExcluded: the caller decided.
            LeaseRequired: the caller holds no live claim on the appeal.
            StorageError: the service was built without evidence access.
        """
        _need_review(actor)
        if self._evidence is None:
            raise StorageError("the appeals service has no evidence access")
        now = self._clock()
        with self._sessions.begin() as session:
            appeal = self._visible(session, actor, appeal_id, lock=False)
            if appeal.decider == actor.name:
                raise DeciderExcluded("you made the decision under appeal")
            if not _claimed_by(appeal, actor, now):
                raise LeaseRequired("claim the appeal first")
            item = item_store.get_item(session, appeal.item_id)
            lease = queue_store.get_lease(session, item.id)
            seen: dict[str, object] = {"with_lease": False, "appeal_id": appeal.id}
            return view_item(session, self._evidence, actor, item, lease, now, seen)

    def decide(
        self, actor: Actor, appeal_id: int, outcome: str, reason: str
    ) -> schemas.AppealReviewOut:
        """Uphold or reverse the decision under appeal (see the module docstring).
        Audited (``appeal_decide``).

        Raises:
            Forbidden, NotFound: as for claiming. DeciderExcluded: the caller decided.
            LeaseRequired: the caller holds no live lease on the appeal.
            InvalidInput: a bad outcome or reason. InvalidState: already decided, or
            (reverse) the decision no longer stands.
        """
        _need_review(actor)
        if outcome not in ("uphold", "reverse"):
            raise InvalidInput("outcome must be uphold or reverse")
        text = check_reason(reason)
        now = self._clock()
        with self._sessions.begin() as session:
            appeal = self._visible(session, actor, appeal_id, lock=False)
            _lock_group(session, appeal.decision_id)  # re-reads it, if still undecided
            if appeal.decider == actor.name:
                raise DeciderExcluded(
                    "you made the decision under appeal; another moderator must decide the appeal"
                )
            if appeal.status == "decided":
                raise InvalidState("the appeal is already decided")
            if not _claimed_by(appeal, actor, now):
                raise LeaseRequired("claim the appeal (or renew your claim) before deciding")
            correction_id: int | None = None
            if outcome == "reverse" and appeal.statement_id is None:
                self._reopen(session, actor, appeal, text, now)
            elif outcome == "reverse":
                new_decision, correction_id = self._reverse(session, actor, appeal, text, now)
                appeal.new_decision_id = new_decision
            _close(appeal, outcome, text, actor, now)
            session.flush()
            audit(
                session,
                now,
                actor,
                "appeal_decide",
                appeal.item_id,
                {
                    "appeal_id": appeal.id,
                    "outcome": outcome,
                    "reason": text,
                    "statement_id": appeal.statement_id,
                    "decision_id": appeal.decision_id,
                    "new_decision_id": appeal.new_decision_id,
                    "correction_statement_id": correction_id,
                },
            )
            self._events(
                session,
                "appeal.decided",
                {"appeal_id": appeal.id, "statement_id": appeal.statement_id, "outcome": outcome},
            )
            if outcome == "reverse":
                self._supersede(session, actor, appeal, now)
            return _review_out(session, appeal)

    def _supersede(self, session: Session, actor: Actor, reversed_: AppealRow, now: int) -> None:
        """Close the appeals reviewed jointly with ``reversed_``: the decision they contest
        no longer stands (the other party's appeal changed it). Each is audited
        (``appeal_decide``, outcome ``superseded``) and announced."""
        for other in _siblings(session, reversed_, lock=True):
            _close(other, SUPERSEDED, SUPERSEDED_REASON, actor, now)
            session.flush()
            audit(
                session,
                now,
                actor,
                "appeal_decide",
                other.item_id,
                {
                    "appeal_id": other.id,
                    "outcome": SUPERSEDED,
                    "superseded_by": reversed_.id,
                    "statement_id": other.statement_id,
                    "decision_id": other.decision_id,
                },
            )
            self._events(
                session,
                "appeal.decided",
                {"appeal_id": other.id, "statement_id": other.statement_id, "outcome": SUPERSEDED},
            )

    def _reopen(
        self, session: Session, actor: Actor, appeal: AppealRow, text: str, now: int
    ) -> None:
        """A reporter's complaint reversed: the decision is marked reopened by the appeal
        and the item goes back to its queue for a fresh decision (as a lead's reopen)."""
        item, current = _mark_reversed(session, actor, appeal, text, now)
        item.status = "open"
        item.outcome = None
        item.updated_at = now
        session.flush()
        correction = end_statement(
            session, current, item, now, self._mapping, self._random, ended_by="complaint"
        )
        audit(
            session,
            now,
            actor,
            "reopen",
            item.id,
            {
                "reason": text,
                "decision_id": current.id,
                "appeal_id": appeal.id,
                "correction_statement_id": None if correction is None else correction.id,
            },
        )

    def _reverse(
        self, session: Session, actor: Actor, appeal: AppealRow, text: str, now: int
    ) -> tuple[int, int]:
        item, current = _mark_reversed(session, actor, appeal, text, now)
        note = f"appeal {appeal.id} reversed: {text}"[:4000]
        new = decision_store.add_decision(
            session, new_decision(item, actor.name, "no_violation", current.policy, note, now)
        )
        item.outcome = "no_violation"
        item.updated_at = now
        correction = end_statement(
            session, current, item, now, self._mapping, self._random, ended_by="appeal"
        )
        if correction is None:  # pragma: no cover - a sender's appeal names a statement
            raise InvalidState("the statement under appeal no longer stands")
        audit(
            session,
            now,
            actor,
            "decide",
            item.id,
            {
                "decision_id": new.id,
                "decision": "no_violation",
                "policy": current.policy,
                "note_chars": len(new.note),
                "queue": item.queue,
                "bank_media": False,
                "appeal_id": appeal.id,
                "reverses_decision_id": current.id,
            },
        )
        return new.id, correction.id

    def _visible(self, session: Session, actor: Actor, appeal_id: int, *, lock: bool) -> AppealRow:
        q = select(AppealRow).where(AppealRow.id == appeal_id)
        if lock:
            q = q.with_for_update()
        appeal = session.scalars(q).first()
        if appeal is None or not may_see_item(actor.role, child_safety=appeal.child_safety):
            raise NotFound("no such appeal")
        return appeal


def _claimed_by(appeal: AppealRow, actor: Actor, now: int) -> bool:
    """Whether ``actor`` holds a live claim on ``appeal``."""
    return appeal.status == "claimed" and holds(
        appeal.claimed_by, appeal.lease_until, actor.name, now
    )


def _need_review(actor: Actor) -> None:
    require(actor, Permission.REVIEW, "the {role} role may not review appeals")


def _appeal_out(a: AppealRow) -> schemas.AppealOut:
    return schemas.AppealOut(
        appeal_id=a.id,
        statement_id=a.statement_id,
        report_id=a.report_id,
        status=a.status,
        created_at=a.created_at,
        outcome=a.outcome,
        outcome_reason=a.outcome_reason,
        decided_at=a.decided_at,
    )


def _review_out(session: Session, a: AppealRow) -> schemas.AppealReviewOut:
    d = session.get(DecisionRow, a.decision_id)
    return schemas.AppealReviewOut(
        appeal_id=a.id,
        by="sender" if a.statement_id is not None else "reporter",
        statement_id=a.statement_id,
        item_id=a.item_id,
        decision="" if d is None else d.decision,
        policy="" if d is None else d.policy,
        decided_by=a.decider,
        reason=a.reason,
        status=a.status,
        created_at=a.created_at,
        claimed_by=a.claimed_by,
        lease_until=a.lease_until,
        outcome=a.outcome,
        outcome_reason=a.outcome_reason,
        joint_with=[] if a.status == "decided" else [o.id for o in _siblings(session, a)],
    )


def _held_by_another(appeal: AppealRow, actor: Actor, now: int) -> bool:
    """Whether someone other than ``actor`` holds a live claim on ``appeal``."""
    return (
        appeal.status == "claimed"
        and appeal.claimed_by != actor.name
        and (appeal.lease_until or 0) > now
    )


def _lock_group(session: Session, decision_id: int) -> list[AppealRow]:
    """The undecided appeals about one decision, row-locked in id order and re-read."""
    return list(
        session.scalars(
            select(AppealRow)
            .where(AppealRow.decision_id == decision_id, AppealRow.status != "decided")
            .order_by(AppealRow.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _siblings(session: Session, appeal: AppealRow, *, lock: bool = False) -> list[AppealRow]:
    """The other undecided appeals and complaints about ``appeal``'s decision (the other
    party's), oldest first: they are reviewed jointly with it."""
    q = (
        select(AppealRow)
        .where(
            AppealRow.decision_id == appeal.decision_id,
            AppealRow.id != appeal.id,
            AppealRow.status != "decided",
        )
        .order_by(AppealRow.id)
    )
    if lock:
        q = q.with_for_update()
    return list(session.scalars(q))


def _refuse_repeat(earlier: Sequence[str], open_message: str, reviewed_message: str) -> None:
    """One internal review per decision (per complaint): refuse while an earlier one is
    open, and after one was decided (then Art. 21 or a court).

    Raises:
        AppealExists: an earlier one is still open. NotAppealable: one was decided.
    """
    if any(status != "decided" for status in earlier):
        raise AppealExists(open_message)
    if earlier:
        raise NotAppealable(reviewed_message)


def _close(appeal: AppealRow, outcome: str, reason: str, actor: Actor, now: int) -> None:
    """Mark ``appeal`` decided with ``outcome``: no longer open or claimed."""
    appeal.status = "decided"
    appeal.open_key = None
    appeal.complaint_key = None
    appeal.outcome = outcome
    appeal.outcome_reason = reason
    appeal.decided_by = actor.name
    appeal.decided_at = now
    appeal.claimed_by = None
    appeal.lease_until = None


def _mark_reversed(
    session: Session, actor: Actor, appeal: AppealRow, text: str, now: int
) -> tuple[ReviewItem, DecisionRow]:
    """Lock the appealed item and mark the decision under appeal reopened by ``actor``.

    Raises:
        InvalidState: that decision no longer stands (reopened or replaced).
    """
    item = item_store.get_item(session, appeal.item_id, lock=True)
    current = decision_store.current_decision(session, appeal.item_id)
    if current is None or current.id != appeal.decision_id or item.status != "decided":
        raise InvalidState(
            "the decision under appeal no longer stands (reopened or "
            "replaced); uphold the appeal or ask a lead"
        )
    current.reopened_at = now
    current.reopened_by = actor.name
    current.reopen_reason = f"reversed on appeal {appeal.id}: {text}"[:1000]
    return item, current
