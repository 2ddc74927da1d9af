"""Sending and receiving franked messages (DESIGN.md, "Send", "Receive").

The pure steps (:func:`frank_outgoing`, :func:`sent_record`, :func:`open_delivery`,
:func:`check_attachment`) take bytes and return values; :class:`Messenger` wires them to a
:class:`~client_scan.service_client.ServiceClient` and a
:class:`~client_scan.records.RecordStore`.

A delivery whose commitment does not open is refused: it is never returned to the app
as a message (so never shown) and never put in the record store, because a message that
could not later be reported must not be displayed. Attachment bytes are accepted only
when their SHA-256 and size equal what the sender committed in the payload; attachment
encryption is not key-committing, so this check is what stops "invisible salamanders"
(Dodis et al., CRYPTO 2018).

Nothing is lost in transit. The relay keeps a delivery until the recipient acknowledges
it, and :meth:`Messenger.receive` acknowledges a delivery only after it is durably kept:
in the record store (accepted) or in the :class:`~client_scan.quarantine.Quarantine`
(refused: it does not open, verify or parse). One bad delivery never stops the rest of a
batch. An outgoing message is kept in the :class:`~client_scan.outbox.Outbox` before it
is sent, under a client-chosen id the relay uses to answer a repeat with the first stamp,
so a send whose answer is lost is retried (:meth:`Messenger.flush_sends`) and the sender
always ends up with a record of what the recipient holds.

Every send is franked afresh with a new random franking key, forwards included
(:meth:`Messenger.forward`): see docs/protocol.md, "Fresh franking per send".
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from client_scan.errors import (
    AttachmentMismatch,
    ClientScanError,
    EnvelopeError,
    FrankingError,
    InvalidInput,
    NotParty,
    PayloadInvalid,
    RecordNotFound,
    ReportRejected,
    SendPending,
    SubmissionDeferred,
    SubmissionError,
)
from client_scan.franking.commitment import commit, new_franking_key, verify_commitment
from client_scan.franking.envelope import NONCE_BYTES, open_envelope, seal_envelope
from client_scan.franking.message import FrankedMessage
from client_scan.franking.payload import AttachmentRef, Payload, encode_payload, parse_payload
from client_scan.outbox import (
    Outbox,
    OutboxStatus,
    PendingMessage,
    RetryPolicy,
    backoff_delay_s,
)
from client_scan.quarantine import Quarantine, QuarantinedDelivery
from client_scan.records import Direction, MessageRecord, RecordStore, same_record
from client_scan.service_client import Delivery, RelayReceipt, ServiceClient

__all__ = [
    "Attachment",
    "Messenger",
    "OutgoingMessage",
    "ReceiveResult",
    "Rejection",
    "SendFlushResult",
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
    """A delivery that was refused (never shown, never put in the record store) and why."""

    delivery: Delivery
    error: ClientScanError


@dataclass(frozen=True, slots=True)
class ReceiveResult:
    """Accepted records (stored, to show), refused deliveries, and which of the refused
    ones were kept in the quarantine (and so acknowledged to the relay)."""

    accepted: tuple[MessageRecord, ...]
    rejected: tuple[Rejection, ...]
    quarantined: tuple[QuarantinedDelivery, ...] = ()


@dataclass(frozen=True, slots=True)
class SendFlushResult:
    """What one :meth:`Messenger.flush_sends` did: records of the messages the relay now
    has, refusals (kept as ``failed`` in the outbox), and client ids still pending."""

    sent: tuple[MessageRecord, ...] = ()
    failed: tuple[ReportRejected, ...] = ()
    deferred: tuple[str, ...] = ()


SessionKeyLookup = Callable[[Delivery], bytes]
"""Given a delivery, the E2EE session key to open it with (the app's session state)."""


def _refusal(exc: BaseException) -> ClientScanError:
    """The typed error for a delivery that failed to open, verify, parse or store.

    The payload parser raises :class:`PayloadInvalid`; a residual ``ValueError`` or
    ``RecursionError`` from parsing hostile bytes is reported as one too."""
    if isinstance(exc, ClientScanError):
        return exc
    error = PayloadInvalid(f"the payload does not parse ({type(exc).__name__})")
    error.__cause__ = exc
    return error


def _code(error: ClientScanError) -> str:
    if isinstance(error, FrankingError):
        return error.code
    if isinstance(error, EnvelopeError):
        return "envelope_invalid"
    if isinstance(error, InvalidInput):
        return "record_conflict"
    return "invalid"


class Messenger:
    """Franked send and receive for one user, over a service client and a record store.

    ``outbox`` keeps outgoing messages until the relay has them (default: one in memory,
    which does not survive the app; :class:`~client_scan.client.FranklyClient` passes its
    file). ``quarantine`` keeps refused deliveries; without one, a refused delivery is
    reported in :class:`ReceiveResult` but *not* acknowledged, so the relay keeps it until
    its TTL. ``clock`` (seconds), ``rng`` and ``retry_policy`` drive the send backoff.
    """

    def __init__(
        self,
        user_id: str,
        client: ServiceClient,
        store: RecordStore,
        *,
        outbox: Outbox | None = None,
        quarantine: Quarantine | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.user_id = user_id
        self._client = client
        self._store = store
        self._outbox = outbox if outbox is not None else Outbox(":memory:")
        self._quarantine = quarantine
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._policy = retry_policy if retry_policy is not None else RetryPolicy()

    def send(
        self,
        session_key: bytes,
        recipient_id: str,
        conversation_id: str,
        body: str,
        attachments: Sequence[Attachment] = (),
    ) -> MessageRecord:
        """Frank (with a fresh franking key), seal and relay a message; keep the sender's
        copy (and its attachments).

        The message is kept in the outbox under a new ``client_message_id`` before it is
        sent. Attachment bytes are sent by the app through its own channel; the payload
        commits to their digests.

        Raises:
            PayloadInvalid: the body or attachments do not fit a payload.
            InvalidInput: the session key is not 32 bytes.
            SendPending: the relay could not be reached or answered 5xx/429: the message is
                kept in the outbox and re-sent by :meth:`flush_sends` (do not send it again).
            ReportRejected: the relay refused the message (kept as ``failed``).
        """
        refs = [
            attachment_ref(a.data, a.mime, a.id if a.id is not None else f"a{i}")
            for i, a in enumerate(attachments)
        ]
        payload = encode_payload(body, refs)
        outgoing = frank_outgoing(session_key, payload, new_franking_key(), os.urandom(NONCE_BYTES))
        for a, ref in zip(attachments, refs, strict=True):
            self._store.put_attachment(ref.sha256, a.data)
        now = self._clock()
        entry = self._outbox.enqueue_message(
            PendingMessage(
                client_message_id=str(uuid.uuid4()),
                sender_id=self.user_id,
                recipient_id=recipient_id,
                conversation_id=conversation_id,
                payload=payload.raw,
                franking_key=outgoing.franking_key,
                commitment=outgoing.commitment,
                ciphertext=outgoing.ciphertext,
                status=OutboxStatus.PENDING,
                attempts=0,
                created_at=now,
                next_attempt_at=now,
            )
        )
        return self._deliver(entry)

    def forward(
        self, session_key: bytes, record_id: str, recipient_id: str, conversation_id: str
    ) -> MessageRecord:
        """Forward a kept message (sent or received) as a *new* message: same body and
        attachments, a new payload id, a fresh franking key and so a new commitment and a
        new stamp naming this user as sender.

        The original ``(fk, P)`` is never re-sent: the relay would stamp the same
        commitment for another sender, and a report of either copy could then be taken
        for the other (see docs/protocol.md, "Fresh franking per send").

        Raises:
            RecordNotFound: no record has this id, or an attachment's bytes are not kept.
            and whatever :meth:`send` raises.
        """
        record = self._store.get_message(record_id)
        attachments = [
            Attachment(self._store.get_attachment(ref.sha256), ref.mime, ref.id)
            for ref in record.payload.attachments
        ]
        return self.send(
            session_key, recipient_id, conversation_id, record.payload.body, attachments
        )

    def pending_sends(self) -> list[PendingMessage]:
        """Outgoing messages the relay has not confirmed yet, oldest first."""
        return self._outbox.messages(OutboxStatus.PENDING)

    def flush_sends(self, *, force: bool = False) -> SendFlushResult:
        """Re-send every due pending message once, under its client id (the relay answers
        a send it already has with the first stamp). Refusals and deferrals are recorded,
        not raised. ``force`` re-sends every pending message now, due or not."""
        sent: list[MessageRecord] = []
        failed: list[ReportRejected] = []
        deferred: list[str] = []
        now = float("inf") if force else self._clock()
        for entry in self._outbox.due_messages(now):
            try:
                sent.append(self._deliver(entry))
            except ReportRejected as exc:
                failed.append(exc)
            except SubmissionError:
                deferred.append(entry.client_message_id)
        return SendFlushResult(tuple(sent), tuple(failed), tuple(deferred))

    def _deliver(self, entry: PendingMessage) -> MessageRecord:
        """Hand one pending message to the relay; on its receipt, keep the sender's record
        and mark the entry sent.

        Raises:
            SendPending: retryable failure (the entry stays pending, with its backoff).
            ReportRejected: refused for good (the entry is now ``failed``).
        """
        cid = entry.client_message_id
        try:
            receipt = self._client.relay_send(
                entry.recipient_id,
                entry.conversation_id,
                entry.ciphertext,
                entry.commitment,
                client_message_id=cid,
            )
        except ReportRejected as exc:
            self._outbox.mark_message_failed(cid, exc)
            raise
        except SubmissionError as exc:
            retry_after = exc.retry_after_s if isinstance(exc, SubmissionDeferred) else None
            delay = backoff_delay_s(entry.attempts + 1, self._rng, self._policy, retry_after)
            self._outbox.mark_message_retry(cid, self._clock() + delay, str(exc))
            raise SendPending(
                f"the relay does not have the message yet; kept in the outbox ({exc})",
                client_message_id=cid,
                retry_after_s=retry_after,
            ) from exc
        outgoing = OutgoingMessage(
            parse_payload(entry.payload), entry.franking_key, entry.commitment, entry.ciphertext
        )
        record = sent_record(
            outgoing,
            receipt,
            sender_id=entry.sender_id,
            recipient_id=entry.recipient_id,
            conversation_id=entry.conversation_id,
        )
        self._store.add_message(record)
        self._outbox.mark_message_sent(cid, receipt.message_id)
        return record

    def receive(self, session_key_for: SessionKeyLookup) -> ReceiveResult:
        """Fetch the inbox page by page, open and verify each delivery, keep it, and only
        then acknowledge it to the relay.

        - accepted: stored in the record store, returned, acknowledged (a delivery already
          stored or quarantined by an earlier call whose acknowledgement was lost is
          acknowledged again but not returned twice);
        - refused (does not open, verify, parse or fit the store): returned as a
          :class:`Rejection`; with a quarantine it is also kept there, flagged with its
          code, and acknowledged; without one it stays on the relay until its TTL;
        - the app's session-key lookup failed: a :class:`Rejection` (an ``EnvelopeError``
          whose ``__cause__`` is the app's exception), not acknowledged, so the next call
          gets it again.

        One bad delivery never stops the rest of the batch. A failed acknowledgement is
        not an error: the deliveries come again and are recognised as stored.

        Raises:
            SubmissionDeferred, ReportRejected, SubmissionError: an inbox call failed
                (everything kept before it is acknowledged first, as far as possible).
        """
        accepted: list[MessageRecord] = []
        rejected: list[Rejection] = []
        quarantined: list[QuarantinedDelivery] = []
        after: str | None = None
        while True:
            page = self._client.inbox_page(after=after)
            kept: list[str] = []
            try:
                for delivery in page.deliveries:
                    try:
                        session_key = session_key_for(delivery)
                    except Exception as exc:  # the app's lookup; the delivery must not be lost
                        error = EnvelopeError(
                            f"no session key for this delivery ({type(exc).__name__})"
                        )
                        error.__cause__ = exc
                        rejected.append(Rejection(delivery, error))
                        continue
                    try:
                        record = open_delivery(session_key, delivery, recipient_id=self.user_id)
                        fresh = self._keep(record)
                    except (ClientScanError, ValueError, RecursionError) as exc:
                        if self._already_quarantined(delivery):
                            kept.append(delivery.message_id)  # its earlier ack was lost
                            continue
                        refusal = _refusal(exc)
                        rejected.append(Rejection(delivery, refusal))
                        if self._quarantine is not None:
                            quarantined.append(
                                self._quarantine.add(
                                    delivery, _code(refusal), str(refusal), self._clock()
                                )
                            )
                            kept.append(delivery.message_id)
                        continue
                    kept.append(delivery.message_id)
                    if fresh:
                        accepted.append(record)
            finally:
                self._acknowledge(kept)
            if page.next_cursor is None or not page.deliveries or page.next_cursor == after:
                break  # the last page (or a relay that does not move its cursor)
            after = page.next_cursor
        return ReceiveResult(tuple(accepted), tuple(rejected), tuple(quarantined))

    def _already_quarantined(self, delivery: Delivery) -> bool:
        if self._quarantine is None:
            return False
        try:
            self._quarantine.get(delivery.message_id)
        except RecordNotFound:
            return False
        return True

    def _keep(self, record: MessageRecord) -> bool:
        """Store an accepted record; False when the same record was already stored.

        Records are keyed by stamped message (:func:`~client_scan.records.record_id`): a
        second stamped copy of a payload already kept (a relayed or re-sent ``(fk, P)``)
        is a new record, kept beside the first; the same delivery again is not.

        Raises:
            InvalidInput: a different record has the same record id.
        """
        try:
            existing = self._store.get_message(record.id)
        except RecordNotFound:
            self._store.add_message(record)
            return True
        if not same_record(existing, record):
            raise InvalidInput(f"another record already has id {record.id!r}")
        return False

    def _acknowledge(self, message_ids: list[str]) -> None:
        if not message_ids:
            return
        # On failure they come again, are recognised as kept, and are acknowledged then.
        with contextlib.suppress(SubmissionError):
            self._client.ack(message_ids)

    def quarantined(self) -> list[QuarantinedDelivery]:
        """Every delivery kept in the quarantine, oldest first (empty without one)."""
        return [] if self._quarantine is None else self._quarantine.entries()

    def retry_quarantined(self, session_key_for: SessionKeyLookup) -> ReceiveResult:
        """Try every quarantined delivery again: one that now opens, verifies and fits the
        store is kept as a record, returned in ``accepted`` and only then discarded from
        the quarantine; the others stay quarantined and are returned in ``rejected``.

        For a delivery refused because the app's session key was stale, and for a second
        stamped copy of a message that a version keying records by payload id refused as
        ``record_conflict`` (now kept beside the first: docs/client.md, section 4).

        A delivery that fails again is not an error: it is in ``rejected`` (an
        ``EnvelopeError`` whose ``__cause__`` is the app's exception when the session-key
        lookup raised) and stays quarantined.
        """
        accepted: list[MessageRecord] = []
        rejected: list[Rejection] = []
        for entry in self.quarantined():
            delivery = entry.delivery
            try:
                session_key = session_key_for(delivery)
            except Exception as exc:  # the app's lookup
                error = EnvelopeError(f"no session key for this delivery ({type(exc).__name__})")
                error.__cause__ = exc
                rejected.append(Rejection(delivery, error))
                continue
            try:
                record = open_delivery(session_key, delivery, recipient_id=self.user_id)
                fresh = self._keep(record)
            except (ClientScanError, ValueError, RecursionError) as exc:
                rejected.append(Rejection(delivery, _refusal(exc)))
                continue
            if fresh:
                accepted.append(record)
            if self._quarantine is not None:
                self._quarantine.discard(delivery.message_id)  # kept as a record first
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
