"""Relay storage: the queue (ciphertexts kept until acknowledged or past their TTL) and
the send log (idempotency and the sender's quota window).

Nothing here leaves the queue on a read: :func:`inbox_page` only reads, and a delivery
is removed by :func:`acknowledge` (the recipient's own ids only) or :func:`purge_expired`.
Quotas are counted from these tables, so every process of the service sees the same
figures; :func:`lock_users` serialises the check-then-insert of concurrent sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from report_service.storage.models import RelayMessage, RelaySend, User


@dataclass(frozen=True, slots=True)
class Usage:
    """How many messages and ciphertext bytes a quota counts, and the oldest one's time."""

    count: int
    total_bytes: int
    oldest_ms: int | None = None


@dataclass(frozen=True, slots=True)
class InboxPage:
    """One page of a recipient's queue; ``more`` says whether later deliveries exist."""

    messages: list[RelayMessage]
    more: bool


def enqueue(session: Session, message: RelayMessage) -> None:
    """Queue one message for its recipient (commits)."""
    session.add(message)
    session.commit()


def lock_users(session: Session, user_ids: Iterable[str]) -> None:
    """Lock the users' rows until the transaction ends (``SELECT ... FOR UPDATE`` in id
    order, so two sends never deadlock). SQLite needs nothing: its transactions start with
    ``BEGIN IMMEDIATE`` and so already run one writer at a time."""
    ids = sorted(set(user_ids))
    if session.get_bind().dialect.name == "sqlite":
        return
    session.execute(select(User.id).where(User.id.in_(ids)).order_by(User.id).with_for_update())


def find_send(session: Session, sender_id: str, client_message_id: str) -> RelaySend | None:
    """The earlier send by ``sender_id`` under ``client_message_id``, if the log holds it."""
    return session.scalars(
        select(RelaySend).where(
            RelaySend.sender_id == sender_id, RelaySend.client_message_id == client_message_id
        )
    ).first()


def sender_usage(session: Session, sender_id: str, since_ms: int) -> Usage:
    """The sender's sends with ``timestamp_ms > since_ms``: count, bytes, oldest time."""
    count, total, oldest = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(RelaySend.size), 0),
            func.min(RelaySend.timestamp_ms),
        ).where(RelaySend.sender_id == sender_id, RelaySend.timestamp_ms > since_ms)
    ).one()
    return Usage(int(count), int(total), None if oldest is None else int(oldest))


def inbox_usage(session: Session, recipient_id: str, now_ms: int) -> Usage:
    """The recipient's unexpired queued messages: count and bytes."""
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(RelayMessage.size), 0)).where(
            RelayMessage.recipient_id == recipient_id, RelayMessage.expires_at > now_ms
        )
    ).one()
    return Usage(int(count), int(total))


def record_send(session: Session, message: RelayMessage, send: RelaySend) -> None:
    """Queue ``message`` and log ``send`` in one transaction (commits)."""
    session.add(message)
    session.add(send)
    session.commit()


def inbox_page(
    session: Session,
    recipient_id: str,
    now_ms: int,
    *,
    after: tuple[int, str] | None,
    max_count: int,
    max_bytes: int,
) -> InboxPage:
    """The recipient's unexpired queued messages after the key ``after`` (a
    ``(timestamp_ms, message_id)`` pair), oldest first: at most ``max_count`` of them and,
    beyond the first, at most ``max_bytes`` of ciphertext in all. Reads only."""
    where = [RelayMessage.recipient_id == recipient_id, RelayMessage.expires_at > now_ms]
    if after is not None:
        t, mid = after
        where.append(
            or_(
                RelayMessage.timestamp_ms > t,
                and_(RelayMessage.timestamp_ms == t, RelayMessage.message_id > mid),
            )
        )
    heads = session.execute(
        select(RelayMessage.message_id, RelayMessage.size)
        .where(*where)
        .order_by(RelayMessage.timestamp_ms, RelayMessage.message_id)
        .limit(max_count + 1)
    ).all()
    chosen: list[str] = []
    used = 0
    for message_id, size in heads[:max_count]:
        if chosen and used + int(size) > max_bytes:
            break
        chosen.append(str(message_id))
        used += int(size)
    more = len(chosen) < len(heads)
    if not chosen:
        return InboxPage([], more)
    rows = list(
        session.scalars(
            select(RelayMessage)
            .where(RelayMessage.message_id.in_(chosen))
            .order_by(RelayMessage.timestamp_ms, RelayMessage.message_id)
        )
    )
    session.commit()
    return InboxPage(rows, more)


def acknowledge(session: Session, recipient_id: str, message_ids: Sequence[str]) -> int:
    """Remove the recipient's own queued messages among ``message_ids`` (commits); return
    how many were removed. Ids of other recipients' messages, or already removed ones, are
    ignored, so a repeat removes nothing more."""
    if not message_ids:
        return 0
    result = session.execute(
        delete(RelayMessage).where(
            RelayMessage.recipient_id == recipient_id,
            RelayMessage.message_id.in_(sorted(set(message_ids))),
        )
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def purge_expired(session: Session, now_ms: int) -> int:
    """Delete queued messages and send-log rows past their TTL (commits); return how many
    queued messages went."""
    result = session.execute(delete(RelayMessage).where(RelayMessage.expires_at <= now_ms))
    session.execute(delete(RelaySend).where(RelaySend.expires_at <= now_ms))
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


__all__ = [
    "InboxPage",
    "Usage",
    "acknowledge",
    "enqueue",
    "find_send",
    "inbox_page",
    "inbox_usage",
    "lock_users",
    "purge_expired",
    "record_send",
    "sender_usage",
]
