"""The ``appeals`` table (migration ``0013``): internal complaints (DSA Art. 20).

``status``: ``open`` -> ``claimed`` (a reviewer's lease, ``claimed_by`` until
``lease_until``; an expired lease is as good as none) -> ``decided`` (``outcome``
``uphold`` or ``reverse``). ``open_key`` holds the decision id while the appeal is not
decided and NULL after: its unique constraint allows one open appeal per decision on both
databases. ``decider`` is the moderator whose decision is appealed: never the reviewer.

A reporter's complaint (migration ``0017``) has no statement (``statement_id`` NULL) and
names the reporter's stored ``report_id``; ``open_key`` stays NULL and ``complaint_key``
(``"<decision_id>:<reporter>"`` while undecided, NULL after) allows one open complaint per
reporter and decision.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from report_service.storage.base import Base


class AppealRow(Base):
    """One appeal against a statement of reasons' decision."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    statement_id: Mapped[int | None] = mapped_column(
        ForeignKey("dsa_statements.id"), nullable=True, index=True
    )
    decision_id: Mapped[int] = mapped_column(Integer)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    appellant: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    open_key: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    decider: Mapped[str] = mapped_column(String(64))
    child_safety: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[int] = mapped_column(BigInteger)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    outcome_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    new_decision_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    report_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    complaint_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
