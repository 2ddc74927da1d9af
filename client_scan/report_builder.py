"""Building a report from local records and sealing it (DESIGN.md, "Reports").

A report holds the reported message(s), up to ``context`` other messages of the same
conversation (sent and received, the nearest in time to the reported ones), ordered by
time; the reason and comment; the attachment bytes the user chose to include (only
attachments committed in a *reported* message: the service refuses others); and the
device's match hints. It is encoded with :func:`~client_scan.report_format.encode_report`
and sealed to the service's pinned key with :func:`~client_scan.sealing.seal_report`.

:func:`select_messages`, :func:`build_report` and :func:`seal` are pure;
:func:`compose_report` reads the records and attachments from a
:class:`~client_scan.records.RecordStore`.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from client_scan.errors import AttachmentMismatch, InvalidInput, NotParty, RecordNotFound
from client_scan.records import MessageRecord, PinnedKey, RecordStore
from client_scan.report_format import (
    MAX_MESSAGES,
    Reason,
    Report,
    encode_report,
    normalise_report_id,
    parse_report,
)
from client_scan.sealing import seal_report

__all__ = [
    "DEFAULT_CONTEXT",
    "SealedReport",
    "build_report",
    "compose_report",
    "seal",
    "select_messages",
]

DEFAULT_CONTEXT = 10


@dataclass(frozen=True, slots=True)
class SealedReport:
    """A report sealed to the service key ``key_id``; ``sealed`` is what gets posted."""

    report_id: str
    key_id: str
    sealed: bytes = field(repr=False)


def select_messages(
    conversation: Sequence[MessageRecord], reported_ids: Sequence[str], context: int
) -> tuple[MessageRecord, ...]:
    """The reported records plus up to ``context`` others of the conversation, nearest in
    position to a reported one (earlier first on a tie), ordered by (time, record id); at
    most :data:`~client_scan.report_format.MAX_MESSAGES` in all.

    A report names its messages by payload id and may hold only one stamped copy of each
    payload (the service refuses ``duplicate_message``), so a record whose payload is
    already in the report (another stamped copy: a relayed or re-sent ``(fk, P)``) is
    never added as context: the reported copy, or else the nearest one, is the one cited.

    Raises:
        InvalidInput: no reported id, a repeated one, two reported records that are copies
            of one payload (report each in its own report), negative ``context``, or more
            reported messages than a report may hold.
        RecordNotFound: a reported id is not in ``conversation``.
    """
    if not reported_ids:
        raise InvalidInput("report at least one message")
    if len(set(reported_ids)) != len(reported_ids):
        raise InvalidInput("a message is reported twice")
    if context < 0:
        raise InvalidInput("context must be zero or more messages")
    if len(reported_ids) > MAX_MESSAGES:
        raise InvalidInput(f"at most {MAX_MESSAGES} messages per report")
    ordered = sorted(conversation, key=lambda r: (r.timestamp_ms, r.id))
    position = {r.id: i for i, r in enumerate(ordered)}
    missing = [rid for rid in reported_ids if rid not in position]
    if missing:
        raise RecordNotFound(f"message {missing[0]!r} is not in this conversation")
    subject = {position[rid] for rid in reported_ids}
    cited = {ordered[i].payload_id for i in subject}
    if len(cited) != len(subject):
        raise InvalidInput(
            "two reported records are stamped copies of one message (same payload id); "
            "a report cites one copy: report each in its own report"
        )
    room = min(context, MAX_MESSAGES - len(subject))
    others: list[int] = []
    for i in sorted(
        (i for i in range(len(ordered)) if i not in subject),
        key=lambda i: (min(abs(i - s) for s in subject), i),
    ):
        if len(others) >= room:
            break
        if ordered[i].payload_id in cited:
            continue  # another copy of a payload already in the report
        cited.add(ordered[i].payload_id)
        others.append(i)
    return tuple(ordered[i] for i in sorted(subject | set(others)))


def build_report(
    conversation: Sequence[MessageRecord],
    reported_ids: Sequence[str],
    *,
    report_id: str,
    reporter_id: str,
    reason: Reason,
    comment: str | None = None,
    context: int = DEFAULT_CONTEXT,
    attachments: Mapping[str, bytes] | None = None,
    device_matches: Sequence[Mapping[str, Any]] = (),
) -> Report:
    """Build a report of ``reported_ids`` (record ids) from one conversation's records.

    The report's ``reported`` lists the payload ids of those records (the wire format);
    see :func:`select_messages` for why a report holds one copy of each payload.
    ``attachments`` maps SHA-256 hex digests to plaintext bytes the user chose to include.
    The result is checked against the wire format by encoding and parsing it again.

    Raises:
        InvalidInput: see :func:`select_messages`; or the records span conversations.
        RecordNotFound: a reported id is not in ``conversation``.
        NotParty: a reported message was not received by ``reporter_id`` (the service only
            accepts reports of messages the reporter received).
        AttachmentMismatch: an included attachment is not committed in a reported message,
            or its bytes do not hash to its digest or size.
        ReportFormatError: the report does not fit the wire format (for example a comment
            over 1000 characters, an id that is not a UUID).
    """
    report_id = normalise_report_id(report_id)
    if len({r.conversation_id for r in conversation}) > 1:
        raise InvalidInput("the records span more than one conversation")
    chosen = select_messages(conversation, reported_ids, context)
    wanted = set(reported_ids)
    subject = [r for r in chosen if r.id in wanted]
    for record in subject:
        if record.message.recipient_id != reporter_id:
            raise NotParty(f"message {record.id!r} was not received by {reporter_id!r}")
    included: dict[str, bytes] = {}
    for digest, data in (attachments or {}).items():
        refs = [ref for r in subject for ref in r.payload.attachments if ref.sha256 == digest]
        if not refs:
            raise AttachmentMismatch(f"attachment {digest[:12]}… is not in a reported message")
        actual = hashlib.sha256(data).hexdigest()
        if not hmac.compare_digest(actual, digest) or len(data) != refs[0].size:
            raise AttachmentMismatch(f"attachment {digest[:12]}… bytes do not match its digest")
        included[digest] = bytes(data)
    report = Report(
        report_id=report_id,
        reporter_id=reporter_id,
        reason=Reason(reason),
        messages=tuple(r.message for r in chosen),
        reported=tuple(r.payload_id for r in subject),
        comment=comment if comment else None,
        attachments=included,
        device_matches=tuple(dict(m) for m in device_matches),
    )
    parse_report(encode_report(report))
    return report


def seal(report: Report, key: PinnedKey) -> SealedReport:
    """Encode ``report`` and seal it to the pinned service key.

    Raises:
        InvalidInput: the pinned key is not 32 bytes.
    """
    return SealedReport(
        report.report_id, key.key_id, seal_report(encode_report(report), key.public_key)
    )


def compose_report(
    store: RecordStore,
    reported_ids: Sequence[str],
    *,
    reporter_id: str,
    reason: Reason,
    comment: str | None = None,
    context: int = DEFAULT_CONTEXT,
    include_attachments: Collection[str] = (),
    device_matches: Sequence[Mapping[str, Any]] = (),
    report_id: str | None = None,
) -> Report:
    """:func:`build_report` over the store: the reported records' conversation and the
    chosen attachments' bytes. ``report_id`` defaults to a fresh UUID4.

    Raises:
        RecordNotFound: a reported record, or a chosen attachment's bytes, is not stored.
        InvalidInput: the reported messages are in different conversations.
        NotParty, AttachmentMismatch, ReportFormatError: see :func:`build_report`.
    """
    if not reported_ids:
        raise InvalidInput("report at least one message")
    records = [store.get_message(rid) for rid in reported_ids]
    conversations = {r.conversation_id for r in records}
    if len(conversations) != 1:
        raise InvalidInput("the reported messages are in different conversations")
    attachments = {digest: store.get_attachment(digest) for digest in include_attachments}
    return build_report(
        store.conversation(records[0].conversation_id),
        reported_ids,
        report_id=report_id if report_id is not None else str(uuid.uuid4()),
        reporter_id=reporter_id,
        reason=reason,
        comment=comment,
        context=context,
        attachments=attachments,
        device_matches=device_matches,
    )
