"""SQL for claiming work: claim-next, leases and queue depths.

Every function takes an open :class:`~sqlalchemy.orm.Session` inside a transaction begun
by the caller (the review services); nothing here commits.

Concurrency. On SQLite every transaction that may write starts with ``BEGIN IMMEDIATE``
(see :mod:`report_service.storage.engine`), so writers are serialised by the database
lock. On PostgreSQL a claim is one statement whose two probes select their candidates
with ``FOR UPDATE OF review_items SKIP LOCKED``, so concurrent claimers pass over each
other's rows; the lease it writes over an expired one is re-checked in the write (a
concurrent renewal wins and the claim is retried), and the key of ``review_leases`` (one
lease per item) is the last line of defence. An inline audit append locks the single
``audit_head`` row (``FOR UPDATE``), so the chain never forks: then the head lock is the
one point where claims queue behind each other, held from the claim statement to the
commit (two round trips), never across a client's think time. A deferred claim
(``audit_deferred``, the default on PostgreSQL) records its entry for the sequencer
instead and shares no lock with other claims.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from report_service.review.audit.chain import ChainHead, next_entry
from report_service.review.audit.store import append_audit, record_pending, row_values
from report_service.review.errors import QueueEmpty
from report_service.review.models import LeaseRow
from report_service.review.queue.leases import Lease
from report_service.storage.models import ReviewItem


def _lease(row: LeaseRow | None) -> Lease | None:
    if row is None:
        return None
    return Lease(row.item_id, row.moderator, row.claimed_at, row.expires_at)


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
_CLAIM_PG_CTES = """
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
)"""

_CLAIM_PG = (  # constants only, nothing from input
    _CLAIM_PG_CTES  # noqa: S608
    + """, head AS (
    SELECT seq, hash FROM audit_head WHERE id = 1 AND EXISTS (SELECT 1 FROM lease)
    FOR UPDATE
)
SELECT item.*, lease.item_id AS leased, head.seq AS head_seq, head.hash AS head_hash
FROM pick LEFT JOIN item ON true LEFT JOIN lease ON true LEFT JOIN head ON true
"""
)

#: PostgreSQL with the audit entry deferred (``audit.store.record_pending``): the same
#: claim without the chain-head lock, so concurrent claims wait for nothing shared.
_CLAIM_PG_DEFERRED = (  # constants only, nothing from input
    _CLAIM_PG_CTES
    + """
SELECT item.*, lease.item_id AS leased, NULL AS head_seq, NULL AS head_hash
FROM pick LEFT JOIN item ON true LEFT JOIN lease ON true
"""
)

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
    audit_deferred: bool = False,
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

    ``audit_deferred``: the entry is recorded for the sequencer
    (:func:`~report_service.review.audit.store.record_pending`) and the chain head is
    neither locked nor read: PostgreSQL 2 statements (the claim, the waiting entry),
    SQLite 4.

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
    claim_sql = (_CLAIM_PG_DEFERRED if audit_deferred else _CLAIM_PG) if pg else _CLAIM_SQLITE
    row = conn.execute(text(claim_sql), params).first()
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
        # Deferred: for the sequencer. A database created without the migration's seed
        # row of audit_head: the append seeds it.
        if audit_deferred or row.head_seq is None:
            write = record_pending if audit_deferred else append_audit
            write(
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
            values = row_values(entry)
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
