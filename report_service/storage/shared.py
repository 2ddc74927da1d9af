"""State every service process shares through the database (migration ``0006``).

``bank_state`` holds one counter row per named piece of shared state (today only
``banks``): every change to the hash banks increments it in the same transaction, which
both serialises bank writers (the row lock) and gives readers a cheap "has anything
changed?" check. ``rate_limits`` holds one row per rate-limited caller (GCRA: the
theoretical arrival time of the next request, see :mod:`report_service.ratelimit`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from report_service.storage.base import Base


class SharedCounter(Base):
    """A named generation counter, incremented by every change to what it names."""

    __tablename__ = "bank_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)


class RateLimitRow(Base):
    """One caller's rate-limit state: theoretical arrival time (µs) and the last grant."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat_us: Mapped[int] = mapped_column(BigInteger)
    last_grant: Mapped[str] = mapped_column(String(32))
