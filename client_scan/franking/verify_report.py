"""Report-level verification (DESIGN.md, "Reports"): what the service checks.

For each message, in order, the checks run in the order of the design's error table, and
the first failure rejects the whole report with that error and the message's index:

1. ``unknown_key``: the key id is in the keyring;
2. ``stamp_expired`` / ``timestamp_invalid``: the time is inside the key's validity and
   retention window and not in the future beyond the clock skew;
3. ``not_party``: the authenticated reporter is the sender or the recipient;
4. ``stamp_invalid``: the stamp verifies over ``(c, s, r, conv, t, kid)``;
5. ``commitment_mismatch``: ``c`` opens to ``P`` under ``fk``;
6. ``payload_invalid``: ``P`` is a valid payload;
7. ``not_party``: a *reported* message has the reporter as its recipient (which messages
   are reported is known only once ``P`` is parsed);
8. ``mixed_conversations``: the message is in the same conversation as the first.

Then the report as a whole: every id in ``reported`` names one of the messages, and every
included attachment hashes to a digest (and size) committed in a reported message
(``attachment_mismatch``). The result holds only verified facts, apart from the
reporter's own unverified words (comment, device hints).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from client_scan.errors import (
    AttachmentMismatch,
    FrankingError,
    MixedConversations,
    NotParty,
    ReportFormatError,
)
from client_scan.franking.commitment import verify_commitment
from client_scan.franking.keyring import Keyring
from client_scan.franking.message import FrankedMessage
from client_scan.franking.payload import Payload, parse_payload
from client_scan.franking.stamp import check_stamp

if TYPE_CHECKING:
    # Only for annotations: report_format imports the franking package, so a runtime import
    # here would be circular when report_format is imported first.
    from client_scan.report_format import Reason, Report


@dataclass(frozen=True, slots=True)
class VerifiedMessage:
    """A message whose stamp and commitment verified, with its parsed payload."""

    index: int
    message: FrankedMessage
    payload: Payload
    reported: bool


@dataclass(frozen=True, slots=True)
class VerifiedReport:
    """The verified facts of a report, and the reporter's unverified words kept apart."""

    report_id: str
    reporter_id: str
    reason: Reason
    conversation_id: str
    messages: tuple[VerifiedMessage, ...]
    attachments: Mapping[str, bytes] = field(repr=False)
    comment: str | None
    device_matches: tuple[Mapping[str, Any], ...]

    @property
    def reported_messages(self) -> tuple[VerifiedMessage, ...]:
        return tuple(m for m in self.messages if m.reported)


def verify_message_for(
    message: FrankedMessage, reporter_id: str, keyring: Keyring, now_ms: int
) -> Payload:
    """Run checks 1 to 6 on one message for ``reporter_id``; return its parsed payload.

    Raises:
        UnknownKey, StampExpired, TimestampInvalid, NotParty, StampInvalid,
        CommitmentMismatch, PayloadInvalid: the first check that fails.
    """
    key = keyring.get(message.key_id)
    keyring.check_time(key, message.timestamp_ms, now_ms)
    if reporter_id not in (message.sender_id, message.recipient_id):
        raise NotParty("the reporter is neither the sender nor the recipient")
    check_stamp(key, message)
    verify_commitment(message.franking_key, message.payload, message.commitment)
    return parse_payload(message.payload)


def verify_report(
    report: Report, reporter_id: str, keyring: Keyring, now_ms: int
) -> VerifiedReport:
    """Verify every message of ``report`` for the authenticated ``reporter_id`` at ``now_ms``.

    Raises:
        FrankingError: the first failing check, with ``message_index`` set when it belongs
            to one message (subclass by code: see the module docstring).
        ReportFormatError: ``reported`` names a payload id that no message has
            (``reported_unknown``), or two messages share a payload id
            (``duplicate_message``).
    """
    wanted = set(report.reported)
    first_conversation = report.messages[0].conversation_id
    verified: list[VerifiedMessage] = []
    seen_ids: set[str] = set()
    for index, message in enumerate(report.messages):
        try:
            payload = verify_message_for(message, reporter_id, keyring, now_ms)
            is_reported = payload.id in wanted
            if is_reported and message.recipient_id != reporter_id:
                raise NotParty("a reported message must have the reporter as its recipient")
            if message.conversation_id != first_conversation:
                raise MixedConversations("the messages span more than one conversation")
        except FrankingError as exc:
            raise exc.with_index(index) from exc
        if payload.id in seen_ids:
            raise ReportFormatError(
                f"two messages carry payload id {payload.id!r}", code="duplicate_message"
            )
        seen_ids.add(payload.id)
        verified.append(VerifiedMessage(index, message, payload, is_reported))
    missing = wanted - seen_ids
    if missing:
        raise ReportFormatError(
            "reported names a payload id that no message has", code="reported_unknown"
        )
    _check_attachments(report.attachments, [v for v in verified if v.reported])
    return VerifiedReport(
        report_id=report.report_id,
        reporter_id=reporter_id,
        reason=report.reason,
        conversation_id=first_conversation,
        messages=tuple(verified),
        attachments=dict(report.attachments),
        comment=report.comment,
        device_matches=report.device_matches,
    )


def _check_attachments(attachments: Mapping[str, bytes], reported: list[VerifiedMessage]) -> None:
    committed = {ref.sha256: ref for v in reported for ref in v.payload.attachments}
    for digest, data in attachments.items():
        ref = committed.get(digest)
        if ref is None:
            raise AttachmentMismatch(
                f"attachment {digest[:12]}… is not committed in a reported message"
            )
        if hashlib.sha256(data).hexdigest() != digest or len(data) != ref.size:
            raise AttachmentMismatch(
                f"attachment {digest[:12]}… does not match its committed digest and size"
            )
