"""Report storage: one transaction per verified report, merged into review items.

The primary key on ``reports.report_id`` makes a report idempotent even under concurrent
duplicate submission: the second insert fails, and the caller answers with the first
outcome. A review item is one *stamped* message: reports merge into an item only when
they cite the same ``(commitment, sender_id, conversation_id)`` (docs/protocol.md, "What
makes a review item"), which is unique: a new item is inserted with ``ON CONFLICT DO
NOTHING``, so a race creating the same new item merges instead of failing.

A new reporter's report about a decided item goes through the review policy that the
caller passes in as a :class:`RequeuePolicy` hook (the review package's
:class:`report_service.review.decisions.requeue.ReviewRequeue`), in the same transaction: storage
sits below review and never imports it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Connection, String, bindparam, column, exists, insert, select, values
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from report_service.errors import DuplicateReport, NotFound
from report_service.events import EventHook
from report_service.priority import is_child_safety, priority, queue_for
from report_service.storage.models import (
    BankMatch,
    EvidenceBlob,
    EvidenceKey,
    Media,
    MediaMessage,
    MediaVideo,
    Report,
    ReportItem,
    ReportMessage,
    ReviewItem,
)

STATUS_RECEIVED = "received"
STATUS_DECIDED = "decided"
ITEM_OPEN = "open"
ITEM_DECIDED = "decided"
_RETRIES = 3


ItemKey = tuple[str, str, str]
"""``(commitment, sender_id, conversation_id)``: what makes a review item."""


@dataclass(frozen=True, slots=True)
class ItemFacts:
    """What a report says about one reported stamped message (one review item)."""

    commitment: str
    conversation_id: str
    sender_id: str
    max_bank_severity: int
    bank_categories: frozenset[str]
    child_safety_set: frozenset[str]

    @property
    def key(self) -> ItemKey:
        """The review item this report merges into."""
        return (self.commitment, self.sender_id, self.conversation_id)


@dataclass(frozen=True, slots=True)
class Requeue:
    """An item sent back to its queue by a new report, for the audit entry."""

    item_id: int
    decision_id: int
    reason: str
    queue: str
    priority: int
    reporter_count: int


class RequeuePolicy(Protocol):
    """The review policy for a report that merges into an item (the hook storage is
    given, as :class:`~report_service.intake.Intake` is given its banks)."""

    def requeue_if_due(
        self,
        session: Session,
        item: ReviewItem,
        now_ms: int,
        *,
        new_reporter: bool,
        became_child_safety: bool,
    ) -> Requeue | None:
        """Send a decided ``item`` back to review if the report calls for it (the caller
        holds its row lock and has merged the report into it); ``None`` otherwise."""
        ...

    def audit_requeues(
        self, session: Session, requeues: Iterable[Requeue], report_id: str, now_ms: int
    ) -> None:
        """Write the audit entries of the requeues, once every item of the report is
        locked, in the caller's transaction."""
        ...


@dataclass(frozen=True)
class ReportRecord:
    """Everything stored for one verified report, as column values (evidence already
    encrypted). Rows are built from it afresh for each transaction attempt."""

    report: Mapping[str, Any]
    evidence_key: Mapping[str, Any]
    blobs: tuple[Mapping[str, Any], ...]
    messages: tuple[Mapping[str, Any], ...]
    media: tuple[Mapping[str, Any], ...]
    media_messages: tuple[tuple[str, str], ...]  # (sha256, commitment of a reported message)
    matches: tuple[Mapping[str, Any], ...]
    items: tuple[ItemFacts, ...]
    videos: tuple[Mapping[str, Any], ...] = ()  # media_videos rows (video attachments)


REPORT_ALIAS_NAMESPACE = uuid.UUID("6f1c2d0e-7d0a-5b4e-9a53-3f9c1e2b7a10")


def alias_report_id(reporter_id: str, report_id: str) -> str:
    """The id a report is stored under when another reporter already holds its own id: a
    name-based UUID of ``(reporter_id, report_id)``, so that each reporter's ids stay
    theirs without either learning about the other (see :mod:`report_service.intake`)."""
    return str(uuid.uuid5(REPORT_ALIAS_NAMESPACE, f"{reporter_id}\x00{report_id}"))


def own_report_id(session: Session, reporter_id: str, report_id: str) -> str | None:
    """The id under which ``reporter_id``'s report ``report_id`` is stored: the id itself,
    or its alias when another reporter held the id; ``None`` if they have no such report."""
    for rid in (report_id, alias_report_id(reporter_id, report_id)):
        if session.scalar(select(Report.reporter_id).where(Report.report_id == rid)) == (
            reporter_id
        ):
            return rid
    return None


_REPORTS = Report.__table__
# Built once: the repeat check runs on every report (issue 11, section 3).
_FIRST_RESPONSES = select(
    _REPORTS.c.report_id, _REPORTS.c.reporter_id, _REPORTS.c.first_response
).where(_REPORTS.c.report_id.in_([bindparam("report_id"), bindparam("alias_id")]))


def own_first_response(
    conn: Connection | Session, reporter_id: str, report_id: str
) -> dict[str, Any] | None:
    """The first answer to ``reporter_id``'s own report ``report_id``, stored under the id
    or its alias (:func:`alias_report_id`), or ``None``; another reporter's report is never
    an answer. One statement (both ids in one primary-key lookup), on a Core connection
    (intake's read engine) or in a session's transaction."""
    candidates = (report_id, alias_report_id(reporter_id, report_id))
    params = {"report_id": candidates[0], "alias_id": candidates[1]}
    rows = {
        str(rid): (str(owner), str(answer))
        for rid, owner, answer in conn.execute(_FIRST_RESPONSES, params)
    }
    for rid in candidates:
        found = rows.get(rid)
        if found is not None and found[0] == reporter_id:
            answer: dict[str, Any] = json.loads(found[1])
            return answer
    return None


def _item_insert(dialect: str, values: Mapping[str, Any]) -> Any:
    """``INSERT .. ON CONFLICT (item key) DO NOTHING RETURNING id``: the new item's id, or
    no row when the item exists (committed by anyone; on PostgreSQL a concurrent
    uncommitted insert of the key is waited for, so it is never a unique violation)."""
    upsert: Any = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        upsert(ReviewItem)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["commitment", "sender_id", "conversation_id"])
        .returning(ReviewItem.id)
    )


def _merge_item(
    session: Session,
    facts: ItemFacts,
    report: Mapping[str, Any],
    now_ms: int,
    requeue: RequeuePolicy,
) -> tuple[int, Requeue | None]:
    """Create the item about the stamped message ``facts.key`` or merge the report (its
    column values) into it; return its id and, when the merge sent a decided item back to
    its queue, what to audit. A new item is one statement (the insert that skips an
    existing key); an existing one is then locked and read with whether this reporter
    already reported it (one statement), and updated as an ORM object, which the requeue
    hook is given."""
    reason = report["reason"]
    child_safety = is_child_safety(reason, facts.bank_categories, facts.child_safety_set)
    connection = session.connection()
    new_id = connection.execute(
        _item_insert(
            connection.dialect.name,
            {
                "commitment": facts.commitment,
                "conversation_id": facts.conversation_id,
                "sender_id": facts.sender_id,
                "reason": reason,
                "reporter_count": 1,
                "max_bank_severity": facts.max_bank_severity,
                "child_safety": child_safety,
                "queue": queue_for(child_safety),
                "priority": priority(reason, facts.max_bank_severity, 1),
                "status": ITEM_OPEN,
                "outcome": None,
                "created_at": now_ms,
                "updated_at": now_ms,
            },
        )
    ).scalar()
    if new_id is not None:
        return int(new_id), None
    reported_before = (
        exists()
        .where(ReportItem.item_id == ReviewItem.id)
        .where(ReportItem.report_id == Report.report_id)
        .where(Report.reporter_id == report["reporter_id"])
        .correlate(ReviewItem)
    )
    item, same_reporter = session.execute(
        select(ReviewItem, reported_before)
        .where(
            ReviewItem.commitment == facts.commitment,
            ReviewItem.sender_id == facts.sender_id,
            ReviewItem.conversation_id == facts.conversation_id,
        )
        .with_for_update(of=ReviewItem)
    ).one()
    if not same_reporter:
        item.reporter_count += 1
    item.max_bank_severity = max(item.max_bank_severity, facts.max_bank_severity)
    became_child_safety = child_safety and not item.child_safety
    if became_child_safety:
        item.child_safety = True
        if item.status != ITEM_DECIDED:
            item.queue = queue_for(True)
    item.priority = priority(item.reason, item.max_bank_severity, item.reporter_count)
    item.updated_at = now_ms
    # A new report about a decided item: the review policy decides whether it goes back to
    # review (it became child-safety, or a new reporter after no_violation) or stays decided.
    requeued = requeue.requeue_if_due(
        session,
        item,
        now_ms,
        new_reporter=not same_reporter,
        became_child_safety=became_child_safety,
    )
    return item.id, requeued


def _insert(session: Session, model: type[Any], rows: Sequence[Mapping[str, Any]]) -> None:
    """One Core ``INSERT`` of ``rows`` (an ``executemany``; nothing when empty)."""
    if rows:
        session.connection().execute(insert(model), [dict(r) for r in rows])


Admit = Callable[[Session], None]
"""Called in the storing transaction, last before the commit (the shared rate limiter's
exact count); an exception from it rolls the report back."""


def _store_once(
    session: Session,
    record: ReportRecord,
    now_ms: int,
    requeue: RequeuePolicy,
    events: EventHook | None = None,
    admit: Admit | None = None,
) -> None:
    """One transaction, SQLAlchemy Core for the new rows (one ``INSERT`` per table, each
    an ``executemany``), the requeue hook called inside it before the commit, then
    ``admit``."""
    report = record.report
    # The report_id primary key is the idempotency check: the first statement.
    if not _insert_rows_at_once(session, record):
        _insert(session, Report, [report])
        _insert(session, EvidenceKey, [record.evidence_key])
        _insert(session, EvidenceBlob, record.blobs)
        _insert(session, ReportMessage, record.messages)
        media_ids: dict[str, int] = {}
        if record.media:
            returned = session.connection().execute(
                insert(Media).returning(Media.sha256, Media.id),
                [dict(m) for m in record.media],
            )
            media_ids = {str(sha256): int(media_id) for sha256, media_id in returned}
        _insert(
            session,
            MediaMessage,
            [
                {"media_id": media_ids[sha256], "commitment": commitment}
                for sha256, commitment in record.media_messages
            ],
        )
        _insert(session, BankMatch, record.matches)
        _store_videos(session, record)
    # A fixed lock order (by item key) keeps two reports about the same messages from
    # deadlocking on PostgreSQL; one item per key even if a report names it twice.
    ordered = sorted({f.key: f for f in record.items}.values(), key=lambda f: f.key)
    merged = [_merge_item(session, facts, report, now_ms, requeue) for facts in ordered]
    item_ids = {item_id for item_id, _ in merged}
    _insert(
        session,
        ReportItem,
        [{"report_id": report["report_id"], "item_id": i} for i in sorted(item_ids)],
    )
    # Audited only now, with every item locked: the audit head is locked after the items,
    # in the same order as moderators' calls take them.
    requeue.audit_requeues(
        session, [r for _, r in merged if r is not None], report["report_id"], now_ms
    )
    if events is not None:  # in this transaction: the event exists iff the report does
        data = {"report_id": report["report_id"], "reason": report["reason"]}
        events(session, "report.created", {**data, "item_ids": sorted(item_ids)})
    if admit is not None:  # last: a row it locks is held only until the commit just after
        admit(session)
    session.commit()


#: At most this many bind parameters in the one-statement insert (psycopg allows 65,535);
#: a larger report takes the one-``INSERT``-per-table path.
_MAX_PARAMETERS = 30_000


def _insert_rows_at_once(session: Session, record: ReportRecord) -> bool:
    """On PostgreSQL, insert every row of ``record`` except its review items in ONE
    statement (one round trip instead of up to eight): the ``reports`` insert, with the
    other tables' inserts as data-modifying CTEs, which PostgreSQL runs exactly once each;
    ``media_messages`` takes the media ids from the ``media`` CTE's ``RETURNING``. Foreign
    keys are checked at the end of the statement, when the report row exists. ``False``
    (nothing done) on SQLite, whose statements cost no round trip, and for very large
    reports."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    tables: list[tuple[type[Any], Sequence[Mapping[str, Any]]]] = [
        (EvidenceKey, [record.evidence_key]),
        (EvidenceBlob, record.blobs),
        (ReportMessage, record.messages),
        (BankMatch, record.matches),
        (MediaVideo, record.videos),
    ]
    parameters = len(record.report) + len(record.media_messages) * 2
    parameters += sum(len(r) for _, rows in tables for r in rows)
    parameters += sum(len(m) for m in record.media)
    if parameters > _MAX_PARAMETERS:
        return False
    ctes = [
        insert(model).values([dict(r) for r in rows]).cte(f"new_{model.__tablename__}")
        for model, rows in tables
        if rows
    ]
    if record.media:
        new_media = (
            insert(Media)
            .values([dict(m) for m in record.media])
            .returning(Media.sha256, Media.id)
            .cte("new_media")
        )
        ctes.append(new_media)
        if record.media_messages:
            links = values(
                column("sha256", String), column("commitment", String), name="links"
            ).data(list(record.media_messages))
            ctes.append(
                insert(MediaMessage)
                .from_select(
                    ["media_id", "commitment"],
                    select(new_media.c.id, links.c.commitment).join(
                        links, links.c.sha256 == new_media.c.sha256
                    ),
                )
                .cte("new_media_messages")
            )
    session.connection().execute(insert(Report).values(dict(record.report)).add_cte(*ctes))
    return True


def _store_videos(session: Session, record: ReportRecord) -> None:
    """The ``media_videos`` rows of a report's video attachments (their keyframes are
    among the evidence blobs)."""
    _insert(session, MediaVideo, record.videos)


def store_report(
    session: Session,
    record: ReportRecord,
    now_ms: int,
    requeue: RequeuePolicy,
    events: EventHook | None = None,
    admit: Admit | None = None,
) -> None:
    """Store a verified report, its evidence and facts, and merge it into review items,
    all in one transaction; ``requeue`` decides what a report does to a decided item;
    ``events`` (optional) is told ``report.created`` in the same transaction; ``admit``
    (optional) runs last in it and may refuse the report (its exception propagates,
    nothing is stored).

    Raises:
        DuplicateReport: a report with this id is already stored (nothing was written).
        IntegrityError: a constraint still fails after retries (a bug, not bad input).
    """
    report_id = record.report["report_id"]
    for attempt in range(_RETRIES):
        try:
            _store_once(session, record, now_ms, requeue, events, admit)
            return
        except IntegrityError:
            session.rollback()
            if session.get(Report, report_id) is not None:
                raise DuplicateReport(report_id) from None
            if attempt == _RETRIES - 1:
                raise


def report_status(session: Session, report_id: str, reporter_id: str) -> dict[str, Any]:
    """``{report_id, status, outcome?}`` for the reporter of ``report_id``.

    ``status`` is ``decided`` once every review item of the report is decided, and
    ``received`` before (also again once a later report sent an item back to review);
    ``outcome`` is the decision of the report's highest-priority item.

    A report stored under its alias (:func:`alias_report_id`) is found under the
    reporter's own id.

    Raises:
        NotFound: no such report, or it belongs to someone else (the same answer, so that
            the existence of others' reports does not leak).
    """
    stored_id = own_report_id(session, reporter_id, report_id)
    report = None if stored_id is None else session.get(Report, stored_id)
    if report is None:
        raise NotFound("no such report")
    items = list(
        session.scalars(
            select(ReviewItem)
            .join(ReportItem, ReportItem.item_id == ReviewItem.id)
            .where(ReportItem.report_id == report.report_id)
            .order_by(ReviewItem.priority.desc(), ReviewItem.id)
        )
    )
    answer: dict[str, Any] = {"report_id": report_id, "status": STATUS_RECEIVED}
    if items and all(i.status == ITEM_DECIDED for i in items):
        answer["status"] = STATUS_DECIDED
        if items[0].outcome is not None:
            answer["outcome"] = items[0].outcome
    return answer
