"""SQL for the transparency log (tables in :mod:`.models`). No logic beyond reading and
writing rows; :mod:`.service` decides what to write."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from report_service.transparency.models import LeafRow, LogRow, TileRow

LOG_ID = 1


def lock_log(session: Session) -> LogRow | None:
    """The log row, locked for this transaction (FOR UPDATE; SQLite's write lock)."""
    return session.get(LogRow, LOG_ID, with_for_update=True)


def read_log(session: Session) -> LogRow | None:
    """The log row, unlocked."""
    return session.get(LogRow, LOG_ID)


def create_log(session: Session, origin: str, checkpoint: str, now_ms: int) -> LogRow:
    """Insert the empty log's row."""
    row = LogRow(id=LOG_ID, origin=origin, size=0, checkpoint=checkpoint, updated_at=now_ms)
    session.add(row)
    return row


def latest_version(session: Session, list_id: str) -> LeafRow | None:
    """The newest logged version of ``list_id``."""
    return session.scalars(
        select(LeafRow).where(LeafRow.list_id == list_id).order_by(LeafRow.version.desc()).limit(1)
    ).first()


def leaf_by_version(session: Session, list_id: str, version: int) -> LeafRow | None:
    """The leaf of one list version, if logged."""
    return session.scalars(
        select(LeafRow).where(LeafRow.list_id == list_id, LeafRow.version == version)
    ).first()


def leaves(session: Session, start: int, end: int) -> list[LeafRow]:
    """Leaves ``start <= idx < end`` in order."""
    return list(
        session.scalars(
            select(LeafRow).where(LeafRow.idx >= start, LeafRow.idx < end).order_by(LeafRow.idx)
        )
    )


def tile(session: Session, level: int, index: int) -> bytes | None:
    """The current bytes of one tile."""
    data = session.scalar(
        select(TileRow.data).where(TileRow.level == level, TileRow.tile_index == index)
    )
    return None if data is None else bytes(data)


def put_tile(session: Session, level: int, index: int, data: bytes) -> None:
    """Insert or replace one tile's bytes."""
    row = session.get(TileRow, (level, index))
    if row is None:
        session.add(TileRow(level=level, tile_index=index, data=data))
    else:
        row.data = data


def storage_bytes(session: Session) -> tuple[int, int]:
    """Total bytes of leaf entries and of tiles (for operators and the benchmark)."""
    entries = session.scalar(select(func.coalesce(func.sum(func.length(LeafRow.entry)), 0)))
    tiles = session.scalar(select(func.coalesce(func.sum(func.length(TileRow.data)), 0)))
    return int(entries or 0), int(tiles or 0)
