"""Tables of the review package (migration ``0002``; ``ix_review_leases_expires_at``: ``0007``).

Times are integer milliseconds since the epoch (the service clock). The review package
also reads and updates the service's ``review_items`` (status, outcome, queue) and reads
reports, messages, evidence, media and bank matches.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from report_service.storage.base import Base

NAME = String(64)


class Moderator(Base):
    """A moderator account. Only the SHA-256 of its bearer token is stored."""

    __tablename__ = "review_moderators"

    name: Mapped[str] = mapped_column(NAME, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class LeaseRow(Base):
    """The exclusive lease on a claimed item (at most one per item; stale once expired)."""

    __tablename__ = "review_leases"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True
    )
    moderator: Mapped[str] = mapped_column(NAME, index=True)
    claimed_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)  # 0007: expired-lease probe


class DecisionRow(Base):
    """A decision about an item; a lead's reopen, or a requeue by a new report after
    ``no_violation`` (:mod:`report_service.review.decisions.requeue`), marks it superseded."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("review_items.id", ondelete="CASCADE"), index=True
    )
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    moderator: Mapped[str] = mapped_column(NAME)
    decision: Mapped[str] = mapped_column(String(32))
    policy: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    banked: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[int] = mapped_column(BigInteger)
    reopened_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reopened_by: Mapped[str | None] = mapped_column(NAME, nullable=True)
    reopen_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditRow(Base):
    """One audit log entry (see :mod:`report_service.review.audit.chain` for the hashing)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    actor: Mapped[str] = mapped_column(NAME, index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    item_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditPendingRow(Base):
    """An audit entry recorded but not yet chained (migration ``0018``): written in its
    action's transaction without the chain-head lock, moved into ``audit_log`` in ``id``
    order by the sequencer (:func:`report_service.review.audit.store.sequence_pending`)."""

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    at_ms: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(NAME)
    action: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str] = mapped_column(Text)


class AuditHeadRow(Base):
    """The chain head (one row, ``id`` 1): locked by every append, so appends serialise."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
