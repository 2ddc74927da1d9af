"""Tables of the moderator console (migration ``0009``).

Sessions live in the database, never in one process's memory: the service runs as
several processes and any of them must recognise a session another one opened. Only the
SHA-256 of the session cookie is stored. Times are integer milliseconds (service clock).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from report_service.storage.base import Base

NAME = String(64)


class ConsoleSession(Base):
    """A signed-in browser: the cookie's hash, whose it is, the hash of the moderator's
    token when it signed in (a rotated token ends the session), its CSRF token, its times."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    moderator: Mapped[str] = mapped_column(NAME, index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    last_seen_at: Mapped[int] = mapped_column(BigInteger, index=True)
    child_safety_since: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ConsolePreferences(Base):
    """A moderator's wellness settings (absent: the defaults)."""

    __tablename__ = "console_preferences"

    moderator: Mapped[str] = mapped_column(NAME, primary_key=True)
    blur_level: Mapped[int] = mapped_column(Integer)
    grayscale: Mapped[bool] = mapped_column(Boolean)
    break_minutes: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class ConsoleSigninLink(Base):
    """A one-time sign-in link an admin made for a moderator (only its code's hash)."""

    __tablename__ = "console_signin_links"

    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    moderator: Mapped[str] = mapped_column(NAME, index=True)
    created_by: Mapped[str] = mapped_column(NAME)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
