"""SQL for the transparency log (tables in :mod:`.models`). No logic beyond reading and
writing rows; :mod:`.service` decides what to write."""

from __future__ import annotations

from sqlalchemy import func, insert, select, tuple_
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


def leaf_by_version(session: Session, list_id: str, version: int) -> LeafRow | None:
    """The leaf of one list version, if logged."""
    return session.scalars(
        select(LeafRow).where(LeafRow.list_id == list_id, LeafRow.version == version)
    ).first()


def known_versions(
    session: Session, wanted: set[tuple[str, int]]
) -> tuple[dict[str, int], dict[tuple[str, int], tuple[int, bytes]]]:
    """For a batch of ``(list_id, version)`` pairs: the newest logged version of each list,
    and the index and digest of every logged pair among ``wanted`` and those newest ones
    (a few queries per batch, not per list)."""
    latest: dict[str, int] = {}
    ids = sorted({list_id for list_id, _ in wanted})
    for i in range(0, len(ids), 500):
        for list_id, version in session.execute(
            select(LeafRow.list_id, func.max(LeafRow.version))
            .where(LeafRow.list_id.in_(ids[i : i + 500]))
            .group_by(LeafRow.list_id)
        ):
            latest[list_id] = int(version)
    pairs = sorted(wanted | set(latest.items()))
    rows: dict[tuple[str, int], tuple[int, bytes]] = {}
    for i in range(0, len(pairs), 500):
        for idx, list_id, version, digest in session.execute(
            select(LeafRow.idx, LeafRow.list_id, LeafRow.version, LeafRow.digest).where(
                tuple_(LeafRow.list_id, LeafRow.version).in_(pairs[i : i + 500])
            )
        ):
            rows[(list_id, int(version))] = (int(idx), bytes(digest))
    return latest, rows


def add_leaves(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert leaf rows in one executemany."""
    if rows:
        session.execute(insert(LeafRow), rows)


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
