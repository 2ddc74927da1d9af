"""The transparency log's tables (migration ``0016``).

``transparency_log`` holds one row per log (today one, ``id = 1``): its origin, tree size
and latest signed checkpoint. Appending locks this row (``SELECT ... FOR UPDATE``; on
SQLite the ``BEGIN IMMEDIATE`` write lock), so any number of processes can append and
every leaf gets exactly one index. ``transparency_leaves`` holds the entries (the
canonical leaf bytes, :mod:`hashes.transparency.leaf`) by index, with the list id and
version for the successor check. ``transparency_tiles`` holds the current content of
every tlog-tiles tile (a partial tile only ever grows; a served partial tile of an older
size is a prefix of it).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from report_service.storage.base import Base


class LogRow(Base):
    """One log: origin, size and the latest checkpoint (a signed note, UTF-8 text)."""

    __tablename__ = "transparency_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    origin: Mapped[str] = mapped_column(String(256))
    size: Mapped[int] = mapped_column(BigInteger)
    checkpoint: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class LeafRow(Base):
    """One logged list version: its index in the log and the leaf bytes."""

    __tablename__ = "transparency_leaves"
    __table_args__ = (UniqueConstraint("list_id", "version"),)

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    list_id: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    logged_at: Mapped[int] = mapped_column(BigInteger)


class TileRow(Base):
    """The current hashes of one tile (``level``, ``tile_index``): up to 256 x 32 bytes."""

    __tablename__ = "transparency_tiles"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tile_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
