"""SQL for the review package: moderators, leases, items, decisions and the audit chain.

Every function takes an open :class:`~sqlalchemy.orm.Session` inside a transaction begun
by the caller (:mod:`report_service.review.service`); nothing here commits.

Concurrency. On SQLite every transaction that may write starts with ``BEGIN IMMEDIATE``
(see :mod:`report_service.storage.engine`), so writers are serialised by the database
lock. On PostgreSQL a claim is one statement whose two probes select their candidates
with ``FOR UPDATE OF review_items SKIP LOCKED``, so concurrent claimers pass over each
other's rows; the lease it writes over an expired one is re-checked in the write (a
concurrent renewal wins and the claim is retried), and the key of ``review_leases`` (one
lease per item) is the last line of defence. Audit appends lock the single ``audit_head``
row (``FOR UPDATE``), so the chain never forks: the head lock is the one point where
claims queue behind each other, held from the claim statement to the commit (two round
trips), never across a client's think time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from report_service.review.audit.chain import AuditEntry, ChainHead, canonical_json, next_entry
from report_service.review.errors import ModeratorExists, NotFound, QueueEmpty
from report_service.review.models import AuditHeadRow, AuditRow, DecisionRow, LeaseRow, Moderator
from report_service.review.queue.leases import Lease
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

HEAD_ID = 1


# ---------------------------------------------------------------------------- moderators


def add_moderator(session: Session, name: str, role: str, token_hash: bytes, now_ms: int) -> None:
    """Insert a moderator.

    Raises:
        ModeratorExists: the name is taken (revoked accounts keep their name).
    """
    if session.get(Moderator, name) is not None:
        raise ModeratorExists(f"moderator {name!r} already exists")
    session.add(Moderator(name=name, role=role, token_hash=token_hash, created_at=now_ms))
    session.flush()


def revoke_moderator(session: Session, name: str, now_ms: int) -> None:
    """Mark a moderator revoked, drop its leases and put their items back (``open``).

    Raises:
        NotFound: no such moderator, or already revoked.
    """
    mod = session.get(Moderator, name, with_for_update=True)
    if mod is None or mod.revoked_at is not None:
        raise NotFound(f"no active moderator {name!r}")
    mod.revoked_at = now_ms
    held = select(LeaseRow.item_id).where(LeaseRow.moderator == name).scalar_subquery()
    # Its items go back to the queue as ``open``: a ``claimed`` item always has a lease row.
    session.execute(
        update(ReviewItem)
        .where(ReviewItem.id.in_(held), ReviewItem.status == "claimed")
        .values(status="open", updated_at=now_ms)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(LeaseRow).where(LeaseRow.moderator == name))
    session.flush()


def list_moderators(session: Session) -> list[Moderator]:
    """Every moderator account, by name."""
    return list(session.scalars(select(Moderator).order_by(Moderator.name)))


def moderator_by_token_hash(session: Session, token_hash: bytes) -> tuple[str, str]:
    """``(name, role)`` of the active moderator whose token hashes to ``token_hash``: one
    lookup of the unique ``token_hash`` index (SQLAlchemy Core, no ORM object), nothing
    cached, so a revocation holds from the next request on.

    Raises:
        NotFound: no active moderator has that token.
    """
    row = session.execute(
        select(Moderator.name, Moderator.role).where(
            Moderator.token_hash == token_hash, Moderator.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        raise NotFound("no such token")
    return str(row.name), str(row.role)


# ---------------------------------------------------------------------------- audit chain


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at_ms=row.at_ms,
        actor=row.actor,
        action=row.action,
        item_id=row.item_id,
        detail=json.loads(row.detail),
        prev_hash=row.prev_hash,
        entry_hash=row.entry_hash,
    )


def append_audit(
    session: Session,
    *,
    at_ms: int,
    actor: str,
    action: str,
    item_id: int | None,
    detail: dict[str, Any],
) -> AuditEntry:
    """Append one entry to the chain, under the chain-head lock.

    Raises:
        InvalidInput: ``detail`` is not canonical-JSON encodable.
    """
    head = session.scalars(
        select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID).with_for_update()
    ).first()
    if head is None:  # a database created without the migration's seed row
        head = AuditHeadRow(id=HEAD_ID, seq=0, hash="0" * 64)
        session.add(head)
        session.flush()
    entry = next_entry(
        ChainHead(head.seq, head.hash),
        at_ms=at_ms,
        actor=actor,
        action=action,
        item_id=item_id,
        detail=detail,
    )
    session.add(
        AuditRow(
            seq=entry.seq,
            at_ms=entry.at_ms,
            actor=entry.actor,
            action=entry.action,
            item_id=entry.item_id,
            detail=canonical_json(dict(entry.detail)).decode(),
            prev_hash=entry.prev_hash,
            entry_hash=entry.entry_hash,
        )
    )
    head.seq = entry.seq
    head.hash = entry.entry_hash
    session.flush()
    return entry


def audit_head(session: Session) -> ChainHead:
    """The recorded chain head (seq 0 and GENESIS when the log is empty)."""
    row = session.get(AuditHeadRow, HEAD_ID)
    return ChainHead(0, "0" * 64) if row is None else ChainHead(row.seq, row.hash)


def audit_seq_of(session: Session, entry_hash: str) -> int | None:
    """The ``seq`` of the entry whose hash is ``entry_hash``, or ``None``."""
    seq = session.scalar(select(AuditRow.seq).where(AuditRow.entry_hash == entry_hash).limit(1))
    return None if seq is None else int(seq)


def audit_count(session: Session) -> int:
    """How many entries are stored."""
    return int(session.execute(select(func.count()).select_from(AuditRow)).scalar_one())


def iter_audit(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    """Every stored entry in ``seq`` order, read in batches."""
    after: int | None = None
    while True:
        q = select(AuditRow).order_by(AuditRow.seq).limit(batch)
        if after is not None:
            q = q.where(AuditRow.seq > after)
        rows = list(session.scalars(q))
        if not rows:
            return
        for row in rows:
            yield _entry(row)
        after = rows[-1].seq


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Filters of an audit query; ``after_seq`` pages forward."""

    actor: str | None = None
    action: str | None = None
    item_id: int | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    after_seq: int = 0
    limit: int = 100


def query_audit(session: Session, f: AuditFilter) -> list[AuditEntry]:
    """Entries matching ``f`` in ``seq`` order, at most ``f.limit``."""
    q = select(AuditRow).where(AuditRow.seq > f.after_seq)
    if f.actor is not None:
        q = q.where(AuditRow.actor == f.actor)
    if f.action is not None:
        q = q.where(AuditRow.action == f.action)
    if f.item_id is not None:
        q = q.where(AuditRow.item_id == f.item_id)
    if f.since_ms is not None:
        q = q.where(AuditRow.at_ms >= f.since_ms)
    if f.until_ms is not None:
        q = q.where(AuditRow.at_ms < f.until_ms)
    return [_entry(r) for r in session.scalars(q.order_by(AuditRow.seq).limit(f.limit))]


# ---------------------------------------------------------------------------- items, leases


def _lease(row: LeaseRow | None) -> Lease | None:
    if row is None:
        return None
    return Lease(row.item_id, row.moderator, row.claimed_at, row.expires_at)


def get_item(session: Session, item_id: int, *, lock: bool = False) -> ReviewItem:
    """The review item ``item_id`` (row-locked when ``lock``).

    Raises:
        NotFound: no such item.
    """
    q = select(ReviewItem).where(ReviewItem.id == item_id)
    if lock:
        q = q.with_for_update(of=ReviewItem)
    item = session.scalars(q).first()
    if item is None:
        raise NotFound("no such item")
    return item


def get_lease(session: Session, item_id: int) -> Lease | None:
    """The lease row of an item (possibly expired), if any."""
    return _lease(session.get(LeaseRow, item_id))


def _claim_order() -> tuple[Any, Any]:
    """The queue order, served by ``ix_review_items_claim``: highest key first, then id."""
    return ReviewItem.claim_key.desc(), ReviewItem.id.asc()


def _open_probe(queue: str) -> Any:
    """The first ``open`` item of ``queue`` not locked by another claimer (row-locked):
    one probe of ``ix_review_items_claim``."""
    return (
        select(ReviewItem.id, ReviewItem.claim_key)
        .where(ReviewItem.queue == queue, ReviewItem.status == "open")
        .order_by(*_claim_order())
        .limit(1)
        .with_for_update(of=ReviewItem, skip_locked=True)
    )


def _expired_probe(queue: str, now_ms: int) -> Any:
    """The first ``claimed`` item of ``queue`` whose lease has expired (row-locked): reads
    the queue's claimed items (``ix_review_items_claim``) or the expired leases
    (``ix_review_leases_expires_at``), as many as there are claims, not waiting items."""
    return (
        select(ReviewItem.id, ReviewItem.claim_key, LeaseRow.moderator)
        .join(LeaseRow, LeaseRow.item_id == ReviewItem.id)
        .where(
            LeaseRow.expires_at <= now_ms,
            ReviewItem.queue == queue,
            ReviewItem.status == "claimed",
        )
        .order_by(*_claim_order())
        .limit(1)
        .with_for_update(of=ReviewItem, skip_locked=True)
    )


def claim_probe_sql(dialect: Any, now_ms: int, queue: str = "general") -> list[str]:
    """The SQL of the two probes of :func:`claim_next`, values inlined (for ``EXPLAIN``)."""
    return [
        str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        for stmt in (_open_probe(queue), _expired_probe(queue, now_ms))
    ]


def explain_claim(session: Session, queue: str, now_ms: int) -> list[str]:
    """The database's plan for the two probes of :func:`claim_next` (``EXPLAIN`` on
    PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite), one line per plan row; for benchmarks,
    tests and operators checking that claim-next reads an index instead of the queue."""
    dialect = session.get_bind().dialect
    prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    lines: list[str] = []
    for label, sql in zip(
        ("open", "expired lease"), claim_probe_sql(dialect, now_ms, queue), strict=True
    ):
        lines.append(f"-- {label} probe")
        for row in session.execute(text(prefix + sql)):
            lines.append(str(row[-1]))
    return lines


#: PostgreSQL: the whole claim in one statement. ``fresh`` and ``stale`` are the two index
#: probes of :func:`claim_probe_sql` (each locks its row, ``SKIP LOCKED``); ``pick`` is the
#: earlier of the two in queue order; ``item`` marks it claimed; ``lease`` writes the new
#: lease over the expired one (re-checked: a heartbeat that extended it in the meantime
#: wins, and the statement answers without ``leased``); ``head`` locks the audit-chain
#: head (id 1, ``HEAD_ID``), only once something was leased, so that the caller hashes
#: the next entry on it.
_CLAIM_PG = """
WITH fresh AS (
    SELECT id, claim_key, CAST(NULL AS VARCHAR) AS holder FROM review_items
    WHERE queue = :queue AND status = 'open'
    ORDER BY claim_key DESC, id LIMIT 1
    FOR UPDATE SKIP LOCKED
), stale AS (
    SELECT review_items.id, review_items.claim_key, review_leases.moderator AS holder
    FROM review_items JOIN review_leases ON review_leases.item_id = review_items.id
    WHERE review_leases.expires_at <= :now AND review_items.queue = :queue
        AND review_items.status = 'claimed'
    ORDER BY review_items.claim_key DESC, review_items.id LIMIT 1
    FOR UPDATE OF review_items SKIP LOCKED
), pick AS (
    SELECT id, holder FROM (SELECT * FROM fresh UNION ALL SELECT * FROM stale) AS c
    ORDER BY claim_key DESC, id LIMIT 1
), item AS (
    UPDATE review_items SET status = 'claimed', updated_at = :now
    FROM pick WHERE review_items.id = pick.id
    RETURNING review_items.id, review_items.queue, review_items.status, review_items.outcome,
        review_items.reason, review_items.reporter_count, review_items.max_bank_severity,
        review_items.priority, review_items.created_at, review_items.updated_at,
        review_items.lead_flag, pick.holder
), lease AS (
    INSERT INTO review_leases (item_id, moderator, claimed_at, expires_at)
    SELECT id, :moderator, :now, :expires FROM item
    ON CONFLICT (item_id) DO UPDATE SET moderator = excluded.moderator,
        claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
    WHERE review_leases.expires_at <= :now
    RETURNING item_id
), head AS (
    SELECT seq, hash FROM audit_head WHERE id = 1 AND EXISTS (SELECT 1 FROM lease)
    FOR UPDATE
)
SELECT item.*, lease.item_id AS leased, head.seq AS head_seq, head.hash AS head_hash
FROM pick LEFT JOIN item ON true LEFT JOIN lease ON true LEFT JOIN head ON true
"""

#: SQLite (inside ``BEGIN IMMEDIATE``, so no other writer runs meanwhile): pick and mark
#: the item in one statement, answering with its previous lease holder and the audit head.
_CLAIM_SQLITE = """
UPDATE review_items SET status = 'claimed', updated_at = :now
WHERE id = (
    SELECT id FROM (
        SELECT * FROM (
            SELECT id, claim_key FROM review_items
            WHERE queue = :queue AND status = 'open'
            ORDER BY claim_key DESC, id LIMIT 1)
        UNION ALL
        SELECT * FROM (
            SELECT review_items.id, review_items.claim_key
            FROM review_items JOIN review_leases ON review_leases.item_id = review_items.id
            WHERE review_leases.expires_at <= :now AND review_items.queue = :queue
                AND review_items.status = 'claimed'
            ORDER BY review_items.claim_key DESC, review_items.id LIMIT 1)
    )
    ORDER BY claim_key DESC, id LIMIT 1
)
RETURNING id, queue, status, outcome, reason, reporter_count, max_bank_severity, priority,
    created_at, updated_at, lead_flag,
    (SELECT moderator FROM review_leases WHERE item_id = review_items.id) AS holder,
    (SELECT seq FROM audit_head WHERE id = 1) AS head_seq,
    (SELECT hash FROM audit_head WHERE id = 1) AS head_hash
"""

_LEASE_SQLITE = """
INSERT INTO review_leases (item_id, moderator, claimed_at, expires_at)
VALUES (:item_id, :moderator, :now, :expires)
ON CONFLICT (item_id) DO UPDATE SET moderator = excluded.moderator,
    claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
"""

_AUDIT_INSERT = """
INSERT INTO audit_log (seq, at_ms, actor, action, item_id, detail, prev_hash, entry_hash)
VALUES (:seq, :at_ms, :actor, :action, :item_id, :detail, :prev_hash, :entry_hash)
"""
_HEAD_UPDATE = "UPDATE audit_head SET seq = :seq, hash = :entry_hash WHERE id = 1"
#: PostgreSQL: the new head and the entry in one statement.
_AUDIT_APPEND_PG = """
WITH moved AS (UPDATE audit_head SET seq = :seq, hash = :entry_hash WHERE id = 1 RETURNING id)
INSERT INTO audit_log (seq, at_ms, actor, action, item_id, detail, prev_hash, entry_hash)
VALUES (:seq, :at_ms, :actor, :action, :item_id, :detail, :prev_hash, :entry_hash)
"""


@dataclass(frozen=True, slots=True)
class ClaimedItem:
    """The facts of a just-claimed item that the claim answers with."""

    id: int
    queue: str
    status: str
    outcome: str | None
    reason: str
    reporter_count: int
    max_bank_severity: int
    priority: int
    created_at: int
    updated_at: int
    lead_flag: str | None


class ClaimRaced(Exception):
    """The expired lease picked by a claim was renewed before the claim wrote its own; the
    caller rolls the transaction back and claims again."""


def claim_next(
    session: Session,
    queue: str,
    moderator: str,
    now_ms: int,
    duration_ms: int,
    audit_detail: Callable[[Lease, str | None], dict[str, Any]] | None = None,
) -> tuple[ClaimedItem, Lease, str | None]:
    """Claim the first claimable item of ``queue``; return it, its new lease and the name
    of the moderator whose expired lease was taken over (if any).

    Claimable: ``open``, or ``claimed`` under an expired lease (a ``claimed`` item always
    has a lease row). Two index probes, each O(log n): the first ``open`` item by
    ``(claim_key DESC, id)`` and the first expired-lease item by the same order (reading
    claimed items or expired leases only); the earlier of the two in queue order wins.

    With ``audit_detail``, the ``claim`` audit entry (detail built from the lease and the
    previous holder) is appended in the same transaction. Statements sent (SQLAlchemy Core,
    no ORM objects): PostgreSQL 2, the probes, update, lease upsert and chain-head lock in
    one, then the entry with the new head; SQLite 4 (pick-and-mark with the head, lease,
    entry, head) after its ``BEGIN IMMEDIATE``.

    Raises:
        QueueEmpty: nothing is claimable.
        ClaimRaced: the picked expired lease was renewed meanwhile (roll back, retry).
    """
    conn = session.connection()
    params = {
        "queue": queue,
        "now": now_ms,
        "moderator": moderator,
        "expires": now_ms + duration_ms,
    }
    pg = conn.dialect.name == "postgresql"
    row = conn.execute(text(_CLAIM_PG if pg else _CLAIM_SQLITE), params).first()
    if row is None:
        raise QueueEmpty(f"the {queue} queue has nothing to claim")
    if row.id is None or (pg and row.leased is None):
        raise ClaimRaced(f"item {row.id} was renewed while being claimed")
    item = ClaimedItem(
        row.id,
        row.queue,
        row.status,
        row.outcome,
        row.reason,
        row.reporter_count,
        row.max_bank_severity,
        row.priority,
        row.created_at,
        row.updated_at,
        row.lead_flag,
    )
    if not pg:
        conn.execute(text(_LEASE_SQLITE), {**params, "item_id": item.id})
    lease = Lease(item.id, moderator, now_ms, now_ms + duration_ms)
    previous = None if row.holder is None else str(row.holder)
    if audit_detail is not None:
        detail = audit_detail(lease, previous)
        if row.head_seq is None:  # a database created without the migration's seed row
            append_audit(
                session,
                at_ms=now_ms,
                actor=moderator,
                action="claim",
                item_id=item.id,
                detail=detail,
            )
        else:
            entry = next_entry(
                ChainHead(int(row.head_seq), str(row.head_hash)),
                at_ms=now_ms,
                actor=moderator,
                action="claim",
                item_id=item.id,
                detail=detail,
            )
            values = {
                "seq": entry.seq,
                "at_ms": entry.at_ms,
                "actor": entry.actor,
                "action": entry.action,
                "item_id": entry.item_id,
                "detail": canonical_json(dict(entry.detail)).decode(),
                "prev_hash": entry.prev_hash,
                "entry_hash": entry.entry_hash,
            }
            if pg:
                conn.execute(text(_AUDIT_APPEND_PG), values)
            else:
                conn.execute(text(_AUDIT_INSERT), values)
                conn.execute(text(_HEAD_UPDATE), values)
    return item, lease, previous


def extend_lease(
    session: Session, item_id: int, moderator: str, now_ms: int, duration_ms: int
) -> Lease | None:
    """Extend ``moderator``'s live lease; ``None`` when it holds none."""
    result = session.execute(
        update(LeaseRow)
        .where(
            LeaseRow.item_id == item_id,
            LeaseRow.moderator == moderator,
            LeaseRow.expires_at > now_ms,
        )
        .values(expires_at=now_ms + duration_ms)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    row = session.get(LeaseRow, item_id, populate_existing=True)
    return _lease(row)


def drop_lease(session: Session, item: ReviewItem, *, status: str, now_ms: int) -> None:
    """Remove an item's lease and set its status (``open`` on release)."""
    session.execute(delete(LeaseRow).where(LeaseRow.item_id == item.id))
    item.status = status
    item.updated_at = now_ms
    session.flush()


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Depth and age of one queue at a moment."""

    queue: str
    depth: int
    claimed: int
    oldest_created_at: int | None
    top_priority: int | None


def queue_stats(session: Session, queue: str, now_ms: int) -> QueueStats:
    """Claimable depth, live claims and oldest claimable item of ``queue``.

    Claimable is ``open`` plus ``claimed`` under an expired lease, counted apart so that
    each part is an index range (no ``OR`` into an outer join).
    """
    depth, oldest, top = session.execute(
        select(func.count(), func.min(ReviewItem.created_at), func.max(ReviewItem.priority))
        .select_from(ReviewItem)
        .where(ReviewItem.queue == queue, ReviewItem.status == "open")
    ).one()
    s_depth, s_oldest, s_top = session.execute(
        select(func.count(), func.min(ReviewItem.created_at), func.max(ReviewItem.priority))
        .select_from(ReviewItem)
        .join(LeaseRow, LeaseRow.item_id == ReviewItem.id)
        .where(
            ReviewItem.queue == queue,
            ReviewItem.status == "claimed",
            LeaseRow.expires_at <= now_ms,
        )
    ).one()
    claimed = session.execute(
        select(func.count())
        .select_from(ReviewItem)
        .join(LeaseRow, LeaseRow.item_id == ReviewItem.id)
        .where(ReviewItem.queue == queue, LeaseRow.expires_at > now_ms)
    ).scalar_one()
    oldests = [t for t in (oldest, s_oldest) if t is not None]
    tops = [t for t in (top, s_top) if t is not None]
    return QueueStats(
        queue,
        int(depth) + int(s_depth),
        int(claimed),
        min(oldests) if oldests else None,
        max(tops) if tops else None,
    )


def leases_of(session: Session, moderator: str, now_ms: int) -> list[Lease]:
    """The live leases held by ``moderator``."""
    rows = session.scalars(
        select(LeaseRow)
        .where(LeaseRow.moderator == moderator, LeaseRow.expires_at > now_ms)
        .order_by(LeaseRow.item_id)
    )
    return [lease for r in rows if (lease := _lease(r)) is not None]


# ---------------------------------------------------------------------------- item facts


def reports_of(session: Session, item_id: int) -> list[Report]:
    """The reports merged into an item, oldest first."""
    return list(
        session.scalars(
            select(Report)
            .join(ReportItem, ReportItem.report_id == Report.report_id)
            .where(ReportItem.item_id == item_id)
            .order_by(Report.received_at, Report.report_id)
        )
    )


def messages_of(session: Session, report_ids: Sequence[str]) -> list[ReportMessage]:
    """Verified message facts of the reports, in time order."""
    if not report_ids:
        return []
    return list(
        session.scalars(
            select(ReportMessage)
            .where(ReportMessage.report_id.in_(report_ids))
            .order_by(ReportMessage.timestamp_ms, ReportMessage.position, ReportMessage.id)
        )
    )


def media_of_message(session: Session, item: ReviewItem) -> list[Media]:
    """The media rows (service-computed hashes) of an item's message: those of the reports
    merged into the item that intake linked to the item's commitment, by digest then id.

    A report about several reported messages holds the media of all of them; only the
    ``media_messages`` links say which message committed which medium. Media without a
    link (older multi-message reports, see migration ``0003``) belong to no item.

    This is a lookup by the whole item key, not by commitment alone: ``report_items``
    holds only reports that cited this item's stamped message (its commitment, sender and
    conversation), and within such a report a link to the commitment means the payload
    the commitment opens to committed the digest, whoever stamped it (the commitment
    binds the payload). Another item with the same commitment never lends its reports'
    media (docs/protocol.md, "What makes a review item").
    """
    return list(
        session.scalars(
            select(Media)
            .join(MediaMessage, MediaMessage.media_id == Media.id)
            .join(ReportItem, ReportItem.report_id == Media.report_id)
            .where(ReportItem.item_id == item.id, MediaMessage.commitment == item.commitment)
            .order_by(Media.sha256, Media.id)
        )
    )


def videos_of(session: Session, report_ids: Sequence[str]) -> list[MediaVideo]:
    """The video facts (``media_videos``) of the reports' video attachments."""
    if not report_ids:
        return []
    return list(
        session.scalars(
            select(MediaVideo)
            .where(MediaVideo.report_id.in_(report_ids))
            .order_by(MediaVideo.sha256, MediaVideo.id)
        )
    )


def revealed_since(session: Session, actor: str, item_id: int, sha256: str, since_ms: int) -> bool:
    """Whether ``actor`` revealed the medium ``sha256`` of ``item_id`` (an audited
    ``media_reveal``) at or after ``since_ms``."""
    rows = session.scalars(
        select(AuditRow.detail).where(
            AuditRow.actor == actor,
            AuditRow.action == "media_reveal",
            AuditRow.item_id == item_id,
            AuditRow.at_ms >= since_ms,
        )
    )
    for raw in rows:
        try:
            detail = json.loads(raw)
        except ValueError:
            continue
        if isinstance(detail, dict) and detail.get("sha256") == sha256:
            return True
    return False


def matches_of(session: Session, report_ids: Sequence[str]) -> list[BankMatch]:
    """Bank matches of the reports' media."""
    if not report_ids:
        return []
    return list(
        session.scalars(
            select(BankMatch)
            .where(BankMatch.report_id.in_(report_ids))
            .order_by(BankMatch.sha256, BankMatch.severity.desc(), BankMatch.id)
        )
    )


def evidence_blob(session: Session, report_id: str, kind: str, ref: str) -> EvidenceBlob | None:
    """One encrypted evidence blob, if stored."""
    return session.scalars(
        select(EvidenceBlob).where(
            EvidenceBlob.report_id == report_id, EvidenceBlob.kind == kind, EvidenceBlob.ref == ref
        )
    ).first()


def flagged_items(session: Session, *, child_safety: bool, limit: int = 500) -> list[ReviewItem]:
    """Items with a ``lead_flag`` in the general or the child-safety queue, oldest first."""
    return list(
        session.scalars(
            select(ReviewItem)
            .where(ReviewItem.lead_flag.is_not(None), ReviewItem.child_safety.is_(child_safety))
            .order_by(ReviewItem.id)
            .limit(limit)
        )
    )


def other_items_of_sender(
    session: Session, sender_id: str, exclude_item: int, *, include_child_safety: bool
) -> list[ReviewItem]:
    """Other items about the same sender, newest first (at most 50)."""
    q = select(ReviewItem).where(ReviewItem.sender_id == sender_id, ReviewItem.id != exclude_item)
    if not include_child_safety:
        q = q.where(ReviewItem.child_safety.is_(False))
    return list(session.scalars(q.order_by(ReviewItem.created_at.desc()).limit(50)))


def decisions_about_sender(
    session: Session, sender_id: str, *, include_child_safety: bool
) -> list[DecisionRow]:
    """Decisions about a sender's items, newest first (at most 50)."""
    q = (
        select(DecisionRow)
        .join(ReviewItem, ReviewItem.id == DecisionRow.item_id)
        .where(DecisionRow.sender_id == sender_id)
    )
    if not include_child_safety:
        q = q.where(ReviewItem.child_safety.is_(False))
    return list(session.scalars(q.order_by(DecisionRow.decided_at.desc()).limit(50)))


def decisions_of(session: Session, item_id: int) -> list[DecisionRow]:
    """Decisions about an item, oldest first."""
    return list(
        session.scalars(
            select(DecisionRow).where(DecisionRow.item_id == item_id).order_by(DecisionRow.id)
        )
    )


def add_decision(session: Session, row: DecisionRow) -> DecisionRow:
    """Insert a decision row."""
    session.add(row)
    session.flush()
    return row


def current_decision(session: Session, item_id: int) -> DecisionRow | None:
    """The latest decision about an item that has not been reopened."""
    return session.scalars(
        select(DecisionRow)
        .where(DecisionRow.item_id == item_id, DecisionRow.reopened_at.is_(None))
        .order_by(DecisionRow.id.desc())
        .limit(1)
    ).first()


# ---------------------------------------------------------------------------- evidence


def destroyed_reports(session: Session, report_ids: Sequence[str]) -> set[str]:
    """The reports among ``report_ids`` whose evidence was destroyed (wrapped key gone)."""
    if not report_ids:
        return set()
    return set(
        session.scalars(
            select(EvidenceKey.report_id).where(
                EvidenceKey.report_id.in_(report_ids), EvidenceKey.wrapped_key.is_(None)
            )
        )
    )


def items_of_report(session: Session, report_id: str, *, lock: bool = False) -> list[ReviewItem]:
    """The review items a report is about, by id (row-locked, in that order, when
    ``lock``)."""
    q = (
        select(ReviewItem)
        .join(ReportItem, ReportItem.item_id == ReviewItem.id)
        .where(ReportItem.report_id == report_id)
        .order_by(ReviewItem.id)
    )
    if lock:
        q = q.with_for_update(of=ReviewItem)
    return list(session.scalars(q))


def leased_items(session: Session, item_ids: Sequence[int], now_ms: int) -> set[int]:
    """The items among ``item_ids`` under a live lease."""
    if not item_ids:
        return set()
    return set(
        session.scalars(
            select(LeaseRow.item_id).where(
                LeaseRow.item_id.in_(item_ids), LeaseRow.expires_at > now_ms
            )
        )
    )


def live_evidence_reports(
    session: Session, received_before: int, after: str, limit: int
) -> list[tuple[str, int]]:
    """``(report_id, received_at)`` of reports received before ``received_before`` whose
    evidence still exists, by report id after ``after`` (keyset paging), at most ``limit``."""
    rows = session.execute(
        select(Report.report_id, Report.received_at)
        .join(EvidenceKey, EvidenceKey.report_id == Report.report_id)
        .where(
            EvidenceKey.wrapped_key.is_not(None),
            Report.received_at < received_before,
            Report.report_id > after,
        )
        .order_by(Report.report_id)
        .limit(limit)
    ).all()
    return [(r, t) for r, t in rows]


def count_live_evidence_since(session: Session, received_since: int) -> int:
    """How many reports received at or after ``received_since`` still have evidence."""
    return int(
        session.execute(
            select(func.count())
            .select_from(Report)
            .join(EvidenceKey, EvidenceKey.report_id == Report.report_id)
            .where(EvidenceKey.wrapped_key.is_not(None), Report.received_at >= received_since)
        ).scalar_one()
    )
