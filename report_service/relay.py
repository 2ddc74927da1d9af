"""The reference relay: stamp a message for the authenticated sender and queue it.

Stamping itself is the plain library call :func:`client_scan.franking.stamp.stamp`
(platforms that embed Frankly call it directly and store nothing); this module adds the
reference relay's queue so that the demo and tests have somewhere to send messages.

Nothing accepted is lost in transit (DESIGN.md, "HTTP contract"):

- the inbox is *acknowledged*, not drained: a fetch only reads, and a delivery stays until
  its recipient acknowledges it (``POST /v1/relay/inbox/ack``) or its TTL passes, so a lost
  answer loses nothing;
- a send may carry a client-chosen ``client_message_id``; the same sender repeating it
  with the same request gets the first answer (same ``message_id`` and stamp), and another
  request under the same id is refused (:class:`IdempotencyConflict`), so a client can
  retry a send whose answer it never saw;
- quotas, counted in the database so that every process agrees: per sender per window
  and per recipient inbox (messages and bytes), and a byte budget per inbox page.
"""

from __future__ import annotations

import hashlib
import re
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from client_scan.franking.encoding import MAC_BYTES
from client_scan.franking.keyring import Keyring
from client_scan.franking.stamp import stamp
from report_service.errors import IdempotencyConflict, InvalidRequest, QuotaExceeded
from report_service.storage.models import RelayMessage, RelaySend
from report_service.storage.relay import (
    acknowledge,
    find_send,
    inbox_page,
    inbox_usage,
    lock_users,
    purge_expired,
    record_send,
    sender_usage,
)
from report_service.storage.users import active_user_exists

if TYPE_CHECKING:
    from report_service.settings import Settings

INBOX_FULL_RETRY_AFTER_S = 60.0
"""``Retry-After`` for a full inbox: the recipient has to fetch and acknowledge first."""


@dataclass(frozen=True, slots=True)
class Stamped:
    """The sender's copy of a stamp; ``repeated`` when it answers an earlier send."""

    message_id: str
    stamp: bytes
    key_id: str
    timestamp_ms: int
    repeated: bool = False


@dataclass(frozen=True, slots=True)
class RelayQuotas:
    """The relay's limits (see docs/operations.md, "Relay quotas")."""

    inbox_max_messages: int = 1000
    inbox_max_bytes: int = 64 * 1024 * 1024
    sender_window_ms: int = 60_000
    sender_max_messages: int = 120
    sender_max_bytes: int = 16 * 1024 * 1024
    page_max_bytes: int = 8 * 1024 * 1024

    @classmethod
    def from_settings(cls, settings: Settings) -> RelayQuotas:
        """The quotas configured in ``settings``."""
        return cls(
            inbox_max_messages=settings.relay_inbox_max_messages,
            inbox_max_bytes=settings.relay_inbox_max_bytes,
            sender_window_ms=settings.relay_sender_window_ms,
            sender_max_messages=settings.relay_sender_max_messages,
            sender_max_bytes=settings.relay_sender_max_bytes,
            page_max_bytes=settings.relay_page_max_bytes,
        )


@dataclass(frozen=True, slots=True)
class Page:
    """One inbox page; ``next_cursor`` is set when later deliveries exist."""

    messages: list[RelayMessage]
    next_cursor: str | None


def request_digest(
    recipient_id: str, conversation_id: str, ciphertext: bytes, commitment: bytes
) -> bytes:
    """SHA-256 over the length-prefixed fields of a send: what a repeat must equal."""
    h = hashlib.sha256(b"frankly/v1/relay-send")
    for part in (recipient_id.encode(), conversation_id.encode(), ciphertext, commitment):
        h.update(struct.pack(">I", len(part)))
        h.update(part)
    return h.digest()


# Milliseconds (at most 15 digits: fits a signed 64-bit column) and a relay message id.
_CURSOR = re.compile(r"([0-9]{1,15})\.([0-9a-f-]{1,36})")


def encode_cursor(timestamp_ms: int, message_id: str) -> str:
    """The opaque cursor after a delivery: its place in the inbox order."""
    return f"{timestamp_ms}.{message_id}"


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Parse a cursor from :func:`encode_cursor`.

    Raises:
        InvalidRequest: ``invalid_cursor``.
    """
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise InvalidRequest("the cursor is not one this relay gave out", code="invalid_cursor")
    return int(match[1]), match[2]


class Relay:
    """Stamp, queue and deliver messages for users of the service."""

    def __init__(
        self,
        *,
        keyring: Callable[[], Keyring],
        session_factory: Callable[[], Session],
        clock: Callable[[], int],
        ttl_ms: int,
        max_ciphertext_bytes: int,
        max_batch: int,
        quotas: RelayQuotas | None = None,
    ) -> None:
        self.keyring = keyring
        self.sessions = session_factory
        self.clock = clock
        self.ttl_ms = ttl_ms
        self.max_ciphertext_bytes = max_ciphertext_bytes
        self.max_batch = max_batch
        self.quotas = quotas if quotas is not None else RelayQuotas()

    def send(
        self,
        sender_id: str,
        recipient_id: str,
        conversation_id: str,
        ciphertext: bytes,
        commitment: bytes,
        client_message_id: str | None = None,
    ) -> Stamped:
        """Stamp ``commitment`` for (sender, recipient, conversation, now) and queue it.

        With ``client_message_id``, a repeat of the same request by the same sender
        returns the first :class:`Stamped` (``repeated=True``) and queues nothing.

        Raises:
            InvalidRequest: ``unknown_recipient`` (no such user, or revoked),
                ``invalid_commitment`` (not 32 bytes) or ``ciphertext_too_large``.
            IdempotencyConflict: the sender used ``client_message_id`` for another request.
            QuotaExceeded: ``relay_sender_quota`` or ``relay_inbox_full``.
        """
        if len(commitment) != MAC_BYTES:
            raise InvalidRequest("commitment must be 32 bytes", code="invalid_commitment")
        if len(ciphertext) > self.max_ciphertext_bytes:
            raise InvalidRequest(
                f"ciphertext exceeds {self.max_ciphertext_bytes} bytes",
                code="ciphertext_too_large",
                status=413,
            )
        digest = request_digest(recipient_id, conversation_id, ciphertext, commitment)
        try:
            return self._send(
                sender_id, recipient_id, conversation_id, ciphertext, commitment,
                client_message_id, digest,
            )  # fmt: skip
        except IntegrityError:
            # Two processes raced on the same client id (the row locks make this rare):
            # the winner's row now answers the loser.
            if client_message_id is None:
                raise
            with self.sessions() as session:
                earlier = find_send(session, sender_id, client_message_id)
                if earlier is None:
                    raise
                return _repeat(earlier, digest)

    def _send(
        self,
        sender_id: str,
        recipient_id: str,
        conversation_id: str,
        ciphertext: bytes,
        commitment: bytes,
        client_message_id: str | None,
        digest: bytes,
    ) -> Stamped:
        q = self.quotas
        with self.sessions() as session:
            lock_users(session, (sender_id, recipient_id))
            if client_message_id is not None:
                earlier = find_send(session, sender_id, client_message_id)
                if earlier is not None:
                    return _repeat(earlier, digest)
            if not active_user_exists(session, recipient_id):
                raise InvalidRequest("no such recipient", code="unknown_recipient", status=422)
            now_ms = self.clock()
            size = len(ciphertext)
            sent = sender_usage(session, sender_id, now_ms - q.sender_window_ms)
            if (
                sent.count + 1 > q.sender_max_messages
                or sent.total_bytes + size > q.sender_max_bytes
            ):
                oldest = sent.oldest_ms if sent.oldest_ms is not None else now_ms
                raise QuotaExceeded(
                    "the sender's relay quota for this window is used up",
                    code="relay_sender_quota",
                    retry_after_s=max(1.0, (oldest + q.sender_window_ms - now_ms) / 1000),
                )
            queued = inbox_usage(session, recipient_id, now_ms)
            if (
                queued.count + 1 > q.inbox_max_messages
                or queued.total_bytes + size > q.inbox_max_bytes
            ):
                raise QuotaExceeded(
                    "the recipient's relay inbox is full",
                    code="relay_inbox_full",
                    retry_after_s=INBOX_FULL_RETRY_AFTER_S,
                )
            st = stamp(self.keyring(), commitment, sender_id, recipient_id, conversation_id, now_ms)
            message_id = str(uuid.uuid4())
            expires_at = now_ms + self.ttl_ms
            record_send(
                session,
                RelayMessage(
                    message_id=message_id,
                    recipient_id=recipient_id,
                    sender_id=sender_id,
                    conversation_id=conversation_id,
                    ciphertext=ciphertext,
                    commitment=commitment,
                    stamp=st.tag,
                    key_id=st.key_id,
                    timestamp_ms=now_ms,
                    expires_at=expires_at,
                    size=size,
                ),
                RelaySend(
                    message_id=message_id,
                    sender_id=sender_id,
                    client_message_id=client_message_id,
                    request_digest=digest,
                    size=size,
                    stamp=st.tag,
                    key_id=st.key_id,
                    timestamp_ms=now_ms,
                    expires_at=expires_at,
                ),
            )
        return Stamped(message_id, st.tag, st.key_id, now_ms)

    def inbox(
        self, recipient_id: str, *, limit: int | None = None, after: str | None = None
    ) -> Page:
        """One page of the recipient's queued messages, oldest first, from after the
        cursor ``after``. Nothing is removed: see :meth:`acknowledge`.

        A page holds at most ``limit`` (capped at the relay's batch size) deliveries and,
        beyond its first, at most the page byte budget of ciphertext.

        Raises:
            InvalidRequest: ``invalid_cursor``.
        """
        position = decode_cursor(after) if after is not None else None
        count = self.max_batch if limit is None else max(1, min(limit, self.max_batch))
        with self.sessions() as session:
            now_ms = self.clock()
            purge_expired(session, now_ms)
            page = inbox_page(
                session,
                recipient_id,
                now_ms,
                after=position,
                max_count=count,
                max_bytes=self.quotas.page_max_bytes,
            )
        cursor = None
        if page.more and page.messages:
            last = page.messages[-1]
            cursor = encode_cursor(last.timestamp_ms, last.message_id)
        return Page(page.messages, cursor)

    def acknowledge(self, recipient_id: str, message_ids: Sequence[str]) -> int:
        """Remove the recipient's own deliveries among ``message_ids``; return how many.
        Other users' ids and ids already removed count for nothing (a repeat is harmless)."""
        with self.sessions() as session:
            return acknowledge(session, recipient_id, message_ids)


def _repeat(earlier: RelaySend, digest: bytes) -> Stamped:
    """The first answer for a repeated send.

    Raises:
        IdempotencyConflict: the repeat is not the same request.
    """
    if earlier.request_digest != digest:
        raise IdempotencyConflict("this client_message_id was already used for another message")
    return Stamped(
        earlier.message_id, earlier.stamp, earlier.key_id, earlier.timestamp_ms, repeated=True
    )
