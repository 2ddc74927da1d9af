"""Response models built from rows (pure conversions, no I/O)."""

from __future__ import annotations

from report_service.review.audit.chain import AuditEntry
from report_service.review.audit.schemas import AuditEntryOut
from report_service.review.models import DecisionRow, Moderator
from report_service.review.moderators.schemas import ModeratorOut
from report_service.review.queue.leases import Lease
from report_service.review.queue.priority import effective_priority
from report_service.review.queue.store import ClaimedItem
from report_service.review.schemas import DecisionOut, ItemSummaryOut, LeaseOut
from report_service.storage.models import ReviewItem


def summary(item: ReviewItem | ClaimedItem, now: int) -> ItemSummaryOut:
    return ItemSummaryOut(
        id=item.id,
        queue=item.queue,
        status=item.status,
        outcome=item.outcome,
        reason=item.reason,
        reporter_count=item.reporter_count,
        max_bank_severity=item.max_bank_severity,
        priority=item.priority,
        effective_priority=round(effective_priority(item.priority, item.created_at, now), 3),
        created_at=item.created_at,
        updated_at=item.updated_at,
        lead_flag=item.lead_flag,
    )


def lease_out(lease: Lease) -> LeaseOut:
    return LeaseOut(
        item_id=lease.item_id,
        moderator=lease.moderator,
        claimed_at=lease.claimed_at,
        expires_at=lease.expires_at,
    )


def decision_out(d: DecisionRow) -> DecisionOut:
    return DecisionOut(
        id=d.id,
        item_id=d.item_id,
        moderator=d.moderator,
        decision=d.decision,
        policy=d.policy,
        note=d.note,
        banked=d.banked,
        decided_at=d.decided_at,
        reopened_at=d.reopened_at,
        reopened_by=d.reopened_by,
        reopen_reason=d.reopen_reason,
    )


def moderator_out(m: Moderator) -> ModeratorOut:
    return ModeratorOut(
        name=m.name,
        role=m.role,
        created_at=m.created_at,
        revoked_at=m.revoked_at,
    )


def audit_out(e: AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        seq=e.seq,
        at_ms=e.at_ms,
        actor=e.actor,
        action=e.action,
        item_id=e.item_id,
        detail=dict(e.detail),
        prev_hash=e.prev_hash,
        entry_hash=e.entry_hash,
    )
