"""Sending and receiving franked messages (DESIGN.md, "Send", "Receive").

The pure steps (:func:`frank_outgoing`, :func:`sent_record`, :func:`open_delivery`,
:func:`check_attachment`) take bytes and return values; :class:`Messenger` wires them to a
:class:`~client_scan.service_client.ServiceClient` and a
:class:`~client_scan.records.RecordStore`.

A delivery whose commitment does not open is refused: it is never returned to the app
(so never shown) and never stored, because a message that could not later be reported
must not be displayed. Attachment bytes are accepted only when their SHA-256 and size
equal what the sender committed in the payload; attachment encryption is not
key-committing, so this check is what stops "invisible salamanders" (Dodis et al.,
CRYPTO 2018).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from client_scan.errors import (
    AttachmentMismatch,
    ClientScanError,
    EnvelopeError,
    NotParty,
)
from client_scan.franking.commitment import commit, new_franking_key, verify_commitment
from client_scan.franking.envelope import NONCE_BYTES, open_envelope, seal_envelope
from client_scan.franking.message import FrankedMessage
from client_scan.franking.payload import AttachmentRef, Payload, encode_payload, parse_payload
from client_scan.records import Direction, MessageRecord, RecordStore
from client_scan.service_client import Delivery, RelayReceipt, ServiceClient

__all__ = [
    "Attachment",
    "Messenger",
    "OutgoingMessage",
    "ReceiveResult",
    "Rejection",
    "SessionKeyLookup",
    "attachment_ref",
    "check_attachment",
    "frank_outgoing",
    "open_delivery",
    "sent_record",
]


@dataclass(frozen=True, slots=True)
class Attachment:
    """Attachment plaintext the user sends, with its media type and (optional) id."""

    data: bytes = field(repr=False)
    mime: str
    id: str | None = None


def attachment_ref(data: bytes, mime: str, attachment_id: str) -> AttachmentRef:
    """The payload entry committing to ``data``: its SHA-256 and size.

    Raises:
        PayloadInvalid: the id or media type is malformed.
    """
    return AttachmentRef(
        id=attachment_id, sha256=hashlib.sha256(data).hexdigest(), size=len(data), mime=mime
    )


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A franked outgoing message: what goes to the relay and what the sender keeps."""

    payload: Payload
    franking_key: bytes = field(repr=False)
    commitment: bytes
    ciphertext: bytes


def frank_outgoing(
    session_key: bytes, payload: Payload, franking_key: bytes, nonce: bytes
) -> OutgoingMessage:
    """Commit to ``payload`` under ``franking_key`` and seal ``fk || P`` with the commitment
    as associated data (the reference envelope).

    Raises:
        InvalidInput: a key or the nonce has the wrong length.
    """
    commitment = commit(franking_key, payload.raw)
    ciphertext = seal_envelope(session_key, franking_key, payload.raw, commitment, nonce)
    return OutgoingMessage(payload, franking_key, commitment, ciphertext)


def sent_record(
    outgoing: OutgoingMessage,
    receipt: RelayReceipt,
    *,
    sender_id: str,
    recipient_id: str,
    conversation_id: str,
) -> MessageRecord:
    """The sender's own franked record, with the stamp the relay returned."""
    message = FrankedMessage(
        payload=outgoing.payload.raw,
        franking_key=outgoing.franking_key,
        commitment=outgoing.commitment,
        stamp=receipt.stamp,
        key_id=receipt.key_id,
        sender_id=sender_id,
        recipient_id=recipient_id,
        conversation_id=conversation_id,
        timestamp_ms=receipt.timestamp_ms,
    )
    return MessageRecord(message, outgoing.payload, Direction.SENT, receipt.message_id)


def open_delivery(
    session_key: bytes, delivery: Delivery, *, recipient_id: str | None = None
) -> MessageRecord:
    """Open a relay delivery with the reference envelope and verify its commitment.

    The stamp cannot be checked on the device (only the platform holds its key); it is
    kept as delivered and checked by the service when the message is reported.

    Raises:
        NotParty: ``recipient_id`` is given and the delivery is addressed to someone else.
        EnvelopeError: the ciphertext does not open with this key and commitment.
        CommitmentMismatch: the commitment does not open to the payload.
        PayloadInvalid: the payload is not a valid version-1 payload.
    """
    if recipient_id is not None and delivery.recipient_id != recipient_id:
        raise NotParty("delivery is addressed to another user")
    franking_key, payload_bytes = open_envelope(
        session_key, delivery.ciphertext, delivery.commitment
    )
    verify_commitment(franking_key, payload_bytes, delivery.commitment)
    payload = parse_payload(payload_bytes)
    message = FrankedMessage(
        payload=payload_bytes,
        franking_key=franking_key,
        commitment=delivery.commitment,
        stamp=delivery.stamp,
        key_id=delivery.key_id,
        sender_id=delivery.sender_id,
        recipient_id=delivery.recipient_id,
        conversation_id=delivery.conversation_id,
        timestamp_ms=delivery.timestamp_ms,
    )
    return MessageRecord(message, payload, Direction.RECEIVED, delivery.message_id)


def check_attachment(payload: Payload, attachment_id: str, data: bytes) -> AttachmentRef:
    """Check downloaded (decrypted) attachment bytes against the payload's commitment.

    Raises:
        AttachmentMismatch: the payload commits no attachment with this id, or the bytes'
            size or SHA-256 differ from the committed ones.
    """
    for ref in payload.attachments:
        if ref.id == attachment_id:
            digest = hashlib.sha256(data).hexdigest()
            if len(data) != ref.size or not hmac.compare_digest(digest, ref.sha256):
                raise AttachmentMismatch(
                    f"attachment {attachment_id!r} does not match its committed digest"
                )
            return ref
    raise AttachmentMismatch(f"the message commits no attachment {attachment_id!r}")


@dataclass(frozen=True, slots=True)
class Rejection:
    """A delivery that was refused (never shown, never stored) and why."""

    delivery: Delivery
    error: ClientScanError


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    """Accepted records (stored, to show) and refused deliveries."""

    accepted: tuple[MessageRecord, ...]
    rejected: tuple[Rejection, ...]


SessionKeyLookup = Callable[[Delivery], bytes]
"""Given a delivery, the E2EE session key to open it with (the app's session state)."""


class Messenger:
    """Franked send and receive for one user, over a service client and a record store."""

    def __init__(self, user_id: str, client: ServiceClient, store: RecordStore) -> None:
        self.user_id = user_id
        self._client = client
        self._store = store

    def send(
        self,
        session_key: bytes,
        recipient_id: str,
        conversation_id: str,
        body: str,
        attachments: Sequence[Attachment] = (),
    ) -> MessageRecord:
        """Frank, seal and relay a message; keep the sender's copy (and its attachments).

        Attachment bytes are sent by the app through its own channel; the payload commits
        to their digests.

        Raises:
            PayloadInvalid: the body or attachments do not fit a payload.
            InvalidInput: the session key is not 32 bytes.
            SubmissionDeferred: the relay is unreachable (nothing was kept: send again).
            ReportRejected: the relay refused the message.
        """
        refs = [
            attachment_ref(a.data, a.mime, a.id if a.id is not None else f"a{i}")
            for i, a in enumerate(attachments)
        ]
        payload = encode_payload(body, refs)
        outgoing = frank_outgoing(session_key, payload, new_franking_key(), os.urandom(NONCE_BYTES))
        receipt = self._client.relay_send(
            recipient_id, conversation_id, outgoing.ciphertext, outgoing.commitment
        )
        for a, ref in zip(attachments, refs, strict=True):
            self._store.put_attachment(ref.sha256, a.data)
        record = sent_record(
            outgoing,
            receipt,
            sender_id=self.user_id,
            recipient_id=recipient_id,
            conversation_id=conversation_id,
        )
        self._store.add_message(record)
        return record

    def receive(self, session_key_for: SessionKeyLookup) -> ReceiveResult:
        """Fetch the inbox, open and verify each delivery, and keep the accepted ones.

        The relay removes what it delivered, so nothing is dropped silently: every delivery
        comes back either as a stored record or as a :class:`Rejection` (with the raw
        delivery; a failed session-key lookup is an ``EnvelopeError`` whose ``__cause__``
        is the app's exception, and the app may open the delivery again later).

        Raises:
            SubmissionDeferred, ReportRejected, SubmissionError: the inbox call failed.
        """
        accepted: list[MessageRecord] = []
        rejected: list[Rejection] = []
        for delivery in self._client.inbox():
            try:
                session_key = session_key_for(delivery)
            except Exception as exc:  # the app's lookup; the delivery must not be lost
                error = EnvelopeError(f"no session key for this delivery ({type(exc).__name__})")
                error.__cause__ = exc
                rejected.append(Rejection(delivery, error))
                continue
            try:
                record = open_delivery(session_key, delivery, recipient_id=self.user_id)
                self._store.add_message(record)
            except ClientScanError as exc:
                rejected.append(Rejection(delivery, exc))
                continue
            accepted.append(record)
        return ReceiveResult(tuple(accepted), tuple(rejected))

    def accept_attachment(self, record_id: str, attachment_id: str, data: bytes) -> AttachmentRef:
        """Check downloaded attachment bytes against the record's payload and keep them.

        Raises:
            RecordNotFound: no record has this id.
            AttachmentMismatch: the bytes do not match the committed digest or size.
        """
        record = self._store.get_message(record_id)
        ref = check_attachment(record.payload, attachment_id, data)
        self._store.put_attachment(ref.sha256, data)
        return ref
