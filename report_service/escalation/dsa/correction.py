"""Ending a statement of reasons: withdraw it if never sent, queue its correction.

The Transparency Database's API can create statements but never change or delete them,
so when a restriction ends before its time the only truthful record is a new statement
(new PUID) of the same decision with its end date set, whose facts name the statement it
corrects (:func:`end_statement`). Three paths end a restriction, and all three call this
one function in their own transaction:

- a sender's appeal reversed (:mod:`report_service.escalation.appeals.service`),
- a reporter's complaint reversed, which re-opens the item for a fresh decision (same),
- a lead's (or, for child-safety items, the child_safety role's) ``reopen`` in review,
  through the :class:`StatementEnder` hook that the app passes to
  :class:`~report_service.review.service.ReviewService` (review never imports this
  package).

A fresh violation decision afterwards gets its own, new statement from the decision hook
(:mod:`report_service.escalation.dsa.recorder`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from report_service.escalation.dsa.builder import ENDINGS, build_statement
from report_service.escalation.dsa.mapping import DsaMapping
from report_service.escalation.dsa.models import StatementRow
from report_service.escalation.dsa.recorder import facts_of, new_puid
from report_service.review.models import DecisionRow
from report_service.storage.models import ReviewItem


def standing_statement(session: Session, decision_id: int) -> StatementRow | None:
    """The decision's own statement (row-locked) if it has not been corrected yet."""
    row = session.scalars(
        select(StatementRow)
        .where(StatementRow.decision_id == decision_id, StatementRow.kind == "decision")
        .order_by(StatementRow.id)
        .limit(1)
        .with_for_update()
    ).first()
    if row is None:
        return None
    corrected = session.scalar(
        select(StatementRow.id).where(StatementRow.corrects_id == row.id).limit(1)
    )
    return None if corrected is not None else row


def end_statement(
    session: Session,
    decision: DecisionRow,
    item: ReviewItem,
    now: int,
    mapping: DsaMapping,
    random: Callable[[int], bytes],
    *,
    ended_by: str,
) -> StatementRow | None:
    """The restriction of ``decision`` ended at ``now`` (``ended_by``: a key of
    :data:`~.builder.ENDINGS`): withdraw its statement if no submitter ever took it
    (``pending`` and never leased: the correction alone then tells the database
    everything), and queue the corrected statement ``pending``. Returns the correction,
    or ``None`` when the decision has no standing statement (not an enforcement
    decision, or already corrected). Runs in the caller's transaction.

    Raises:
        KeyError: ``ended_by`` is not one of :data:`~.builder.ENDINGS`.
    """
    if ended_by not in ENDINGS:
        raise KeyError(ended_by)
    original = standing_statement(session, decision.id)
    if original is None:
        return None
    if original.state == "pending" and original.lease_owner is None:
        original.state = "withdrawn"  # never sent: nothing in the database to correct
    facts = dataclasses.replace(
        facts_of(session, decision, item),
        ended_at_ms=now,
        corrects=original.puid,
        ended_by=ended_by,
    )
    puid = new_puid(random)
    correction = StatementRow(
        puid=puid,
        kind="correction",
        decision_id=decision.id,
        item_id=item.id,
        subject_id=original.subject_id,
        message_id=original.message_id,
        message_at=original.message_at,
        decision=decision.decision,
        policy=decision.policy,
        payload=json.dumps(build_statement(facts, mapping, puid), sort_keys=True),
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        corrects_id=original.id,
    )
    session.add(correction)
    session.flush()
    return correction


class StatementEnder:
    """``(session, decision, item, now) -> None``: review's ``on_reopened`` hook; a
    reopened decision's statement is withdrawn or corrected (:func:`end_statement`)."""

    def __init__(self, mapping: DsaMapping, random: Callable[[int], bytes]) -> None:
        self._mapping = mapping
        self._random = random

    def __call__(self, session: Session, decision: DecisionRow, item: ReviewItem, now: int) -> None:
        end_statement(
            session, decision, item, now, self._mapping, self._random, ended_by="reopened"
        )
