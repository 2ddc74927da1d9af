"""The reference relay: stamp a message for the authenticated sender and queue it.

Stamping itself is the plain library call :func:`client_scan.franking.stamp.stamp`
(platforms that embed Frankly call it directly and store nothing); this module adds the
reference relay's queue so that the demo and tests have somewhere to send messages.
Ciphertexts are kept only until the recipient fetches them or their TTL passes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from client_scan.franking.encoding import MAC_BYTES
from client_scan.franking.keyring import Keyring
from client_scan.franking.stamp import stamp
from report_service.errors import InvalidRequest
from report_service.storage.models import RelayMessage
from report_service.storage.relay import enqueue, take_inbox
from report_service.storage.users import user_exists


@dataclass(frozen=True, slots=True)
class Stamped:
    """The sender's copy of a stamp."""

    message_id: str
    stamp: bytes
    key_id: str
    timestamp_ms: int


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
    ) -> None:
        self.keyring = keyring
        self.sessions = session_factory
        self.clock = clock
        self.ttl_ms = ttl_ms
        self.max_ciphertext_bytes = max_ciphertext_bytes
        self.max_batch = max_batch

    def send(
        self,
        sender_id: str,
        recipient_id: str,
        conversation_id: str,
        ciphertext: bytes,
        commitment: bytes,
    ) -> Stamped:
        """Stamp ``commitment`` for (sender, recipient, conversation, now) and queue it.

        Raises:
            InvalidRequest: ``unknown_recipient``, ``invalid_commitment`` (not 32 bytes) or
                ``ciphertext_too_large``.
        """
        if len(commitment) != MAC_BYTES:
            raise InvalidRequest("commitment must be 32 bytes", code="invalid_commitment")
        if len(ciphertext) > self.max_ciphertext_bytes:
            raise InvalidRequest(
                f"ciphertext exceeds {self.max_ciphertext_bytes} bytes",
                code="ciphertext_too_large",
                status=413,
            )
        now_ms = self.clock()
        st = stamp(self.keyring(), commitment, sender_id, recipient_id, conversation_id, now_ms)
        message_id = str(uuid.uuid4())
        with self.sessions() as session:
            if not user_exists(session, recipient_id):
                raise InvalidRequest("no such recipient", code="unknown_recipient", status=422)
            enqueue(
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
                    expires_at=now_ms + self.ttl_ms,
                ),
            )
        return Stamped(message_id, st.tag, st.key_id, now_ms)

    def inbox(self, recipient_id: str) -> list[RelayMessage]:
        """Deliver and delete the recipient's queued messages (oldest first)."""
        with self.sessions() as session:
            return take_inbox(session, recipient_id, self.clock(), self.max_batch)
