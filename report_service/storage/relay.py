"""Relay queue storage: ciphertexts kept only until fetched or their TTL passes."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from report_service.storage.models import RelayMessage


def enqueue(session: Session, message: RelayMessage) -> None:
    """Queue one message for its recipient (commits)."""
    session.add(message)
    session.commit()


def take_inbox(session: Session, recipient_id: str, now_ms: int, limit: int) -> list[RelayMessage]:
    """Remove and return up to ``limit`` unexpired messages for ``recipient_id``, oldest
    first, in one transaction (commits). Expired messages are purged on the way."""
    session.execute(delete(RelayMessage).where(RelayMessage.expires_at <= now_ms))
    rows = list(
        session.scalars(
            select(RelayMessage)
            .where(RelayMessage.recipient_id == recipient_id)
            .order_by(RelayMessage.timestamp_ms, RelayMessage.message_id)
            .limit(limit)
            .with_for_update()
        )
    )
    if rows:
        session.execute(
            delete(RelayMessage).where(RelayMessage.message_id.in_([r.message_id for r in rows]))
        )
    session.commit()
    return rows


def purge_expired(session: Session, now_ms: int) -> int:
    """Delete messages past their TTL (commits); return how many."""
    result = session.execute(delete(RelayMessage).where(RelayMessage.expires_at <= now_ms))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
