"""SQL for statements: claim a batch under a lease, record each outcome.

Claiming is safe across processes: on PostgreSQL the candidates are selected ``FOR UPDATE
SKIP LOCKED`` (two submitters pass over each other's rows), on SQLite the write lock of
``BEGIN IMMEDIATE`` serialises claimers; either way the claim writes ``lease_owner`` and
``lease_until`` and commits before anything is sent, and a result is recorded only while
the lease is still the claimer's own. A submitter that dies leaves its lease to expire;
the next one resends, and the database's PUID check turns the repeat into "already
there" (:mod:`report_service.escalation.dsa.submitter`).
"""

from __future__ import annotations

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from report_service.escalation.dsa.models import StatementRow


def claim_batch(
    session: Session, owner: str, now_ms: int, lease_ms: int, limit: int
) -> list[StatementRow]:
    """Lease up to ``limit`` due pending statements to ``owner``, oldest first.

    A correction waits while the statement it corrects is still pending (say, in its
    retry backoff): the Transparency Database must hold a statement before it is told
    that the statement ended, so a correction never overtakes its original."""
    original = aliased(StatementRow)
    original_pending = exists().where(
        original.id == StatementRow.corrects_id, original.state == "pending"
    )
    ids = list(
        session.scalars(
            select(StatementRow.id)
            .where(
                StatementRow.state == "pending",
                StatementRow.next_attempt_at <= now_ms,
                or_(StatementRow.lease_until.is_(None), StatementRow.lease_until <= now_ms),
                or_(StatementRow.corrects_id.is_(None), ~original_pending),
            )
            .order_by(StatementRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    session.execute(
        update(StatementRow)
        .where(StatementRow.id.in_(ids))
        .values(lease_owner=owner, lease_until=now_ms + lease_ms)
        .execution_options(synchronize_session=False)
    )
    return list(
        session.scalars(
            select(StatementRow)
            .where(StatementRow.id.in_(ids))
            .order_by(StatementRow.id)
            .execution_options(populate_existing=True)
        )
    )


def held(session: Session, ids: list[int], owner: str) -> dict[int, StatementRow]:
    """The statements among ``ids`` still leased to ``owner`` (row-locked)."""
    rows = session.scalars(
        select(StatementRow)
        .where(StatementRow.id.in_(ids), StatementRow.lease_owner == owner)
        .with_for_update()
    )
    return {r.id: r for r in rows}


def mark_submitted(row: StatementRow, now_ms: int, db_uuid: str | None) -> None:
    """The database holds the statement."""
    row.state = "submitted"
    row.submitted_at = now_ms
    row.db_uuid = db_uuid
    row.lease_owner = None
    row.lease_until = None
    row.last_error = None


def mark_retry(row: StatementRow, next_at: int, error: str) -> None:
    """Try again at ``next_at``."""
    row.attempts += 1
    row.next_attempt_at = next_at
    row.last_error = error[:500]
    row.lease_owner = None
    row.lease_until = None


def mark_rejected(row: StatementRow, error: str) -> None:
    """The database refused the statement for good (it fails validation)."""
    row.attempts += 1
    row.state = "rejected"
    row.last_error = error[:500]
    row.lease_owner = None
    row.lease_until = None


def since(session: Session, since_ms: int) -> list[StatementRow]:
    """Statements created at or after ``since_ms`` that were not withdrawn, oldest first."""
    return list(
        session.scalars(
            select(StatementRow)
            .where(StatementRow.created_at >= since_ms, StatementRow.state != "withdrawn")
            .order_by(StatementRow.id)
        )
    )


def forget_subjects(session: Session, created_before_ms: int) -> int:
    """Clear the personal fields kept for the user's own copy (``subject_id``,
    ``message_id``, ``message_at``) of statements created before ``created_before_ms``
    whose decision has no open appeal; the EU copy (``payload``) stays. Returns how many
    statements were cleared."""
    from report_service.escalation.appeals.models import AppealRow

    open_decisions = select(AppealRow.decision_id).where(AppealRow.status != "decided")
    result = session.execute(
        update(StatementRow)
        .where(
            StatementRow.created_at < created_before_ms,
            StatementRow.subject_id != "",
            StatementRow.decision_id.not_in(open_decisions),
        )
        .values(subject_id="", message_id=None, message_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
