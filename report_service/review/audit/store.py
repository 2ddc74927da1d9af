"""SQL for the audit chain: append under the chain-head lock, record for the sequencer,
sequence, read, query.

Every function takes an open :class:`~sqlalchemy.orm.Session` inside a transaction begun
by the caller; nothing here commits. Audit appends lock the single ``audit_head`` row
(``FOR UPDATE``), so the chain never forks.

Two ways in. :func:`append_audit` chains the entry in its action's transaction: the entry
is in the chain the moment the action commits, and every such transaction queues on the
head lock through its commit (one durable flush after another). :func:`record_pending`
writes the entry to ``audit_pending`` instead, in the same transaction and so just as
durable and atomic with its action, without touching the head; :func:`sequence_pending`
(the sequencer: a background thread of every ``frankly serve`` process, every reader of
the log, and every :func:`append_audit`) later moves waiting entries into the chain in
``id`` order. An entry is therefore chained within the sequencing interval of its commit;
until then it is stored but not covered by the chain, which is the one thing deferral
gives up (see docs/review.md, "Audit sequencing: inline or deferred").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from report_service.review.audit.chain import (
    AuditEntry,
    ChainHead,
    canonical_json,
    check_names,
    next_entry,
)
from report_service.review.models import AuditHeadRow, AuditPendingRow, AuditRow

HEAD_ID = 1

#: Waiting entries chained per statement batch by :func:`sequence_pending`.
SEQUENCE_BATCH = 500

#: At most this many waiting entries are chained by an :func:`append_audit` before its own
#: (a backlog left while no sequencer ran does not stall one action).
APPEND_CHAINS_FIRST = 2000


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


def row_values(entry: AuditEntry) -> dict[str, Any]:
    """The ``audit_log`` column values of ``entry`` (``detail`` as canonical JSON text)."""
    return {
        "seq": entry.seq,
        "at_ms": entry.at_ms,
        "actor": entry.actor,
        "action": entry.action,
        "item_id": entry.item_id,
        "detail": canonical_json(dict(entry.detail)).decode(),
        "prev_hash": entry.prev_hash,
        "entry_hash": entry.entry_hash,
    }


def append_audit(
    session: Session,
    *,
    at_ms: int,
    actor: str,
    action: str,
    item_id: int | None,
    detail: dict[str, Any],
) -> AuditEntry:
    """Append one entry to the chain, under the chain-head lock. Entries recorded earlier
    with :func:`record_pending` and committed (up to :data:`APPEND_CHAINS_FIRST` of them)
    are chained first, so that the log keeps the order in which its actions committed.

    Raises:
        InvalidInput: ``detail`` is not canonical-JSON encodable.
    """
    head = _head_for_update(session)
    _chain_waiting(session, head, limit=APPEND_CHAINS_FIRST)
    entry = next_entry(
        ChainHead(head.seq, head.hash),
        at_ms=at_ms,
        actor=actor,
        action=action,
        item_id=item_id,
        detail=detail,
    )
    session.add(AuditRow(**row_values(entry)))
    head.seq = entry.seq
    head.hash = entry.entry_hash
    session.flush()
    return entry


def _locked_head(session: Session, *, skip_locked: bool) -> AuditHeadRow | None:
    q = select(AuditHeadRow).where(AuditHeadRow.id == HEAD_ID)
    q = q.with_for_update(skip_locked=skip_locked).execution_options(populate_existing=True)
    return session.scalars(q).first()


def _seed_head(session: Session) -> AuditHeadRow:
    """The head row of a database created without the migration's seed row."""
    head = AuditHeadRow(id=HEAD_ID, seq=0, hash="0" * 64)
    session.add(head)
    session.flush()
    return head


def _head_for_update(session: Session) -> AuditHeadRow:
    """The chain head, locked for this transaction (waiting for it)."""
    return _locked_head(session, skip_locked=False) or _seed_head(session)


def _head_if_free(session: Session) -> AuditHeadRow | None:
    """The chain head, locked for this transaction; ``None`` at once when another
    transaction holds it (PostgreSQL ``SKIP LOCKED``; SQLite's writers are serialised by
    its write lock already)."""
    head = _locked_head(session, skip_locked=True)
    if head is not None:
        return head
    if session.get(AuditHeadRow, HEAD_ID) is not None:
        return None  # it exists, and another transaction holds it
    return _seed_head(session)


def record_pending(
    session: Session,
    *,
    at_ms: int,
    actor: str,
    action: str,
    item_id: int | None,
    detail: dict[str, Any],
) -> None:
    """Record one entry for the sequencer, in the caller's transaction, without the
    chain-head lock. Checked now as :func:`append_audit` checks it, so that an entry the
    action committed always chains.

    Raises:
        InvalidInput: ``detail`` is not canonical-JSON encodable, or ``actor`` or
            ``action`` is empty.
    """
    check_names(actor, action)
    session.execute(
        insert(AuditPendingRow).values(
            at_ms=at_ms,
            actor=actor,
            action=action,
            item_id=item_id,
            detail=canonical_json(dict(detail)).decode(),
        )
    )


def sequence_pending(session: Session, *, wait: bool = True, limit: int | None = None) -> int:
    """Chain the entries waiting in ``audit_pending`` (committed ones, and the caller's
    own), in ``id`` order, under the chain-head lock; how many were chained.

    ``wait`` false: give up at once (0) when another transaction holds the head, which is
    then chaining or appending itself (the background sequencers of several processes).
    ``limit``: at most this many (``None``: all).
    """
    head = _head_for_update(session) if wait else _head_if_free(session)
    if head is None:
        return 0
    return _chain_waiting(session, head, limit=limit)


def _chain_waiting(session: Session, head: AuditHeadRow, *, limit: int | None) -> int:
    done = 0
    while limit is None or done < limit:
        take = SEQUENCE_BATCH if limit is None else min(SEQUENCE_BATCH, limit - done)
        rows = session.execute(
            select(
                AuditPendingRow.id,
                AuditPendingRow.at_ms,
                AuditPendingRow.actor,
                AuditPendingRow.action,
                AuditPendingRow.item_id,
                AuditPendingRow.detail,
            )
            .order_by(AuditPendingRow.id)
            .limit(take)
        ).all()
        if not rows:
            break
        at = ChainHead(head.seq, head.hash)
        values = []
        for row in rows:
            entry = next_entry(
                at,
                at_ms=row.at_ms,
                actor=row.actor,
                action=row.action,
                item_id=row.item_id,
                detail=json.loads(row.detail),
            )
            values.append(row_values(entry))
            at = ChainHead(entry.seq, entry.entry_hash)
        session.execute(insert(AuditRow), values)
        session.execute(
            delete(AuditPendingRow)
            .where(AuditPendingRow.id.in_([row.id for row in rows]))
            .execution_options(synchronize_session=False)
        )
        head.seq, head.hash = at.seq, at.hash
        session.flush()
        done += len(rows)
        if len(rows) < take:
            break
    return done


def waiting_details(session: Session, *, action: str, item_id: int) -> list[dict[str, Any]]:
    """The ``detail`` of each entry of ``action`` about ``item_id`` still waiting in
    ``audit_pending`` (recorded, committed or the caller's own, not yet chained), in
    recorded order. The table holds what arrived since the last sequencing pass, so it is
    read without an index.

    A reader that looks for an entry wherever it is reads this **before** the chain
    (:func:`query_audit`): the sequencer moves entries from here to the chain in one
    transaction, so under PostgreSQL's READ COMMITTED an entry moved between two
    statements read in the other order would be missed by both."""
    rows = session.scalars(
        select(AuditPendingRow.detail)
        .where(AuditPendingRow.action == action, AuditPendingRow.item_id == item_id)
        .order_by(AuditPendingRow.id)
    )
    return [json.loads(detail) for detail in rows]


@dataclass(frozen=True, slots=True)
class PendingStats:
    """Entries waiting for the sequencer, and the action time of the oldest."""

    count: int
    oldest_at_ms: int | None


def pending_stats(session: Session) -> PendingStats:
    """How many entries wait in ``audit_pending`` and since when."""
    count, oldest = session.execute(
        select(func.count(), func.min(AuditPendingRow.at_ms)).select_from(AuditPendingRow)
    ).one()
    return PendingStats(int(count), None if oldest is None else int(oldest))


def read_one_snapshot(session: Session) -> None:
    """Make ``session``'s transaction, which must not have run a statement yet, read one
    snapshot of the database: on PostgreSQL ``REPEATABLE READ`` (under the default ``READ
    COMMITTED`` each statement sees the commits made before it, so a head read after the
    entries could include an append the entries missed); SQLite's transactions already
    read one snapshot. For reads that compare the chain with its head."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


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
