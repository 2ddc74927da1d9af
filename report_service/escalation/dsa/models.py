"""The ``dsa_statements`` table (migration ``0013``).

One row per statement of reasons: the exact JSON sent to the Transparency Database
(``payload``, no personal data) and its submission state, plus, for the user-facing copy
only, whose decision it was (``subject_id``, the stamped sender) and which of their
messages it concerns (``message_id``, ``message_at``). Rows are never deleted: they are the
record of what the platform told the Commission. No foreign keys, so that a statement
outlives evidence destruction. Times are milliseconds since the epoch.

``state``: ``pending`` (to submit; ``lease_*`` set while a submitter holds it),
``submitted`` (``db_uuid`` from the database), ``rejected`` (the database refused it for
good, ``last_error`` says why), ``withdrawn`` (reversed on appeal before it was sent; a
correction replaces it).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from report_service.storage.base import Base


class StatementRow(Base):
    """A statement of reasons and its submission state."""

    __tablename__ = "dsa_statements"
    __table_args__ = (Index("ix_dsa_statements_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    puid: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # decision | correction
    decision_id: Mapped[int] = mapped_column(Integer, index=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    subject_id: Mapped[str] = mapped_column(String(128), index=True)
    message_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    message_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    decision: Mapped[str] = mapped_column(String(32))
    policy: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    db_uuid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger, index=True)
    submitted_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    corrects_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
