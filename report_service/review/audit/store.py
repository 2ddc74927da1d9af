"""SQL for the audit chain: append under the chain-head lock, read, query.

Every function takes an open :class:`~sqlalchemy.orm.Session` inside a transaction begun
by the caller; nothing here commits. Audit appends lock the single ``audit_head`` row
(``FOR UPDATE``), so the chain never forks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from report_service.review.audit.chain import AuditEntry, ChainHead, canonical_json, next_entry
from report_service.review.models import AuditHeadRow, AuditRow

HEAD_ID = 1


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
