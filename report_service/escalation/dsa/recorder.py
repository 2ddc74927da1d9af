"""The decision hook: a statement of reasons in the decision's own transaction.

:class:`StatementRecorder` is passed to
:class:`~report_service.review.service.ReviewService` as one of its ``decision_hooks``
(review never imports this package). It reads the non-personal facts of the decision
(:class:`~report_service.escalation.dsa.builder.StatementFacts`), builds the statement and
stores it ``pending``: the decision and its statement commit together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from report_service.escalation.dsa.builder import StatementFacts, build_statement
from report_service.escalation.dsa.mapping import DsaMapping
from report_service.escalation.dsa.models import StatementRow
from report_service.review.media import store as media_store
from report_service.review.models import DecisionRow
from report_service.storage.models import ReportItem, ReportMessage, ReviewItem


def new_puid(random: Callable[[int], bytes]) -> str:
    """A platform-unique id that says nothing about anyone: ``frankly-sor-`` + 128
    random bits in hex (never reused, as the API requires)."""
    return "frankly-sor-" + random(16).hex()


def message_of(session: Session, item: ReviewItem) -> tuple[str | None, int]:
    """The decided message's payload id and time: the first verified reported message of
    the item's reports with the item's commitment and sender (the item's own creation time
    when none is left)."""
    row = session.execute(
        select(ReportMessage.payload_id, ReportMessage.timestamp_ms)
        .join(ReportItem, ReportItem.report_id == ReportMessage.report_id)
        .where(
            ReportItem.item_id == item.id,
            ReportMessage.commitment == item.commitment,
            ReportMessage.sender_id == item.sender_id,
        )
        .order_by(ReportMessage.timestamp_ms, ReportMessage.id)
        .limit(1)
    ).first()
    if row is None:
        return None, item.created_at
    return str(row[0]), int(row[1])


def facts_of(session: Session, decision: DecisionRow, item: ReviewItem) -> StatementFacts:
    """The non-personal facts of ``decision`` about ``item``."""
    _, at = message_of(session, item)
    media = tuple(sorted(m.mime for m in media_store.media_of_message(session, item)))
    return StatementFacts(
        decision=decision.decision,
        policy=decision.policy,
        reason=item.reason,
        child_safety=item.child_safety,
        content_at_ms=at,
        decided_at_ms=decision.decided_at,
        media_types=media,
        hash_matched=item.max_bank_severity > 0,
    )


class StatementRecorder:
    """``(session, decision, item) -> None``: store the statement of an enforcement
    decision (one with a restriction in the mapping); others are left alone."""

    def __init__(self, mapping: DsaMapping, random: Callable[[int], bytes]) -> None:
        self._mapping = mapping
        self._random = random

    def __call__(self, session: Session, decision: DecisionRow, item: ReviewItem) -> None:
        if decision.decision not in self._mapping.restrictions:
            return
        facts = facts_of(session, decision, item)
        puid = new_puid(self._random)
        payload = build_statement(facts, self._mapping, puid)
        message_id, message_at = message_of(session, item)
        session.add(
            StatementRow(
                puid=puid,
                kind="decision",
                decision_id=decision.id,
                item_id=item.id,
                subject_id=item.sender_id,
                message_id=message_id,
                message_at=message_at,
                decision=decision.decision,
                policy=decision.policy,
                payload=json.dumps(payload, sort_keys=True),
                state="pending",
                attempts=0,
                next_attempt_at=decision.decided_at,
                created_at=decision.decided_at,
            )
        )
        session.flush()
