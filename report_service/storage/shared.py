"""State every service process shares through the database (migration ``0006``).

``bank_state`` holds one counter row per named piece of shared state (today only
``banks``): every change to the hash banks increments it in the same transaction, which
both serialises bank writers (the row lock) and gives readers a cheap "has anything
changed?" check. ``bank_curators`` holds the curator public keys the banks trust besides
the key file's own curator key (added by ``frankly banks trust``, or kept by
``frankly banks rotate-curator`` for the versions the old key signed): every process
reads them, so trusting a key is one change for the whole deployment. ``rate_limits``
holds one row per rate-limited caller (GCRA: the theoretical arrival time of the next
request, see :mod:`report_service.ratelimit`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, LargeBinary, String
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


class TrustedCurator(Base):
    """A curator public key the hash banks trust (besides the key file's curator key)."""

    __tablename__ = "bank_curators"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    origin: Mapped[str] = mapped_column(String(16))  # "trusted" | "rotated"
    added_at: Mapped[int] = mapped_column(BigInteger)
