"""The item view: verified facts apart from reporters' words, transcript, history."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from client_scan.bounded_json import JsonInputError, parse_json
from client_scan.errors import ReportFormatError
from client_scan.report_format import DeviceHintValue, check_device_matches
from hashes.variants import ORIGINAL
from report_service.errors import EvidenceDestroyed
from report_service.review.decisions import store as decision_store
from report_service.review.items import store as item_store
from report_service.review.items.schemas import (
    AttachmentOut,
    BankMatchOut,
    ItemDetailOut,
    MessageOut,
    OtherItemOut,
    ReporterClaimOut,
    VerifiedOut,
)
from report_service.review.lifecycle import store as lifecycle_store
from report_service.review.media import store as media_store
from report_service.review.media.evidence_access import EvidenceReader
from report_service.review.moderators.roles import Permission, Role, allows
from report_service.review.queue.leases import Lease
from report_service.review.views import decision_out, lease_out, summary
from report_service.storage.models import MediaVideo, ReportMessage, ReviewItem

# Stored payloads are read back only for their body and attachment descriptors.
STORED_PAYLOAD_DEPTH = 256


def build_detail(
    session: Session,
    evidence: EvidenceReader,
    role: Role,
    item: ReviewItem,
    lease: Lease | None,
    now: int,
) -> ItemDetailOut:
    """Assemble the item view: verified facts, transcript, reporters' claims, history.

    Evidence that no longer decrypts is shown as ``None`` and flagged; nothing raises
    for it. The verified facts stay: message metadata, and the attachments' service-made
    hashes and bank matches (each flagged ``evidence_destroyed`` when no report about the
    item still holds its original). The attachments are the media linked at intake to the
    item's own commitment (:func:`media_store.media_of_message`), whether or not the payload that
    lists them can still be decrypted.
    """
    reports = item_store.reports_of(session, item.id)
    report_ids = [r.report_id for r in reports]
    rows = item_store.messages_of(session, report_ids)
    gone = lifecycle_store.destroyed_reports(session, report_ids)
    destroyed = bool(gone)
    # One transcript entry per stamped message (commitment, sender, conversation), the
    # item key: the same bytes re-sent by someone else are another message, and must not
    # borrow the subject's sender or be shown as the subject.
    by_message: dict[tuple[str, str, str], list[ReportMessage]] = {}
    for r in rows:
        by_message.setdefault((r.commitment, r.sender_id, r.conversation_id), []).append(r)
    own_key = (item.commitment, item.sender_id, item.conversation_id)
    transcript: list[MessageOut] = []
    subject: MessageOut | None = None
    for message_key, group in by_message.items():
        commitment = message_key[0]
        payload: dict[str, Any] | None = None
        for r in group:
            try:
                payload = _payload(session, evidence, r.report_id, r.payload_id)
            except EvidenceDestroyed:
                destroyed = True
                continue
            if payload is not None:
                break
        first = group[0]
        msg = MessageOut(
            commitment=commitment,
            sender_id=first.sender_id,
            recipient_ids=sorted({r.recipient_id for r in group}),
            conversation_id=first.conversation_id,
            timestamp_ms=first.timestamp_ms,
            subject=message_key == own_key,
            reported=any(r.reported for r in group),
            text=_text(payload),
            attachments=_attachments(payload),
        )
        transcript.append(msg)
        if msg.subject:
            subject = msg
    if subject is None:
        subject = MessageOut(
            commitment=item.commitment,
            sender_id=item.sender_id,
            recipient_ids=[],
            conversation_id=item.conversation_id,
            timestamp_ms=item.created_at,
            subject=True,
            reported=True,
            text=None,
            attachments=[],
        )
    # Only the media that intake linked to this item's commitment, in the reports merged
    # into this item: a report about several messages holds the media of all of them, and
    # another message's attachments (perhaps routed to the child-safety queue) must never
    # appear on this item.
    media_rows = media_store.media_of_message(session, item)
    available = {m.sha256 for m in media_rows if m.report_id not in gone}
    held = {(m.report_id, m.sha256) for m in media_rows}
    matches = [
        b for b in item_store.matches_of(session, report_ids) if (b.report_id, b.sha256) in held
    ]
    videos = {
        v.sha256: v
        for v in media_store.videos_of(session, sorted({m.report_id for m in media_rows}))
        if (v.report_id, v.sha256) in held
    }
    attachments: dict[str, AttachmentOut] = {}
    for m in media_rows:
        if m.sha256 in attachments:
            continue
        base = f"/v1/review/items/{item.id}/media/{m.sha256}"
        seen: set[tuple[str, int, str | None]] = set()
        hits = []
        for b in matches:
            key = (b.list_id, b.list_version, b.entry_id)
            if b.sha256 == m.sha256 and key not in seen:
                seen.add(key)
                hits.append(
                    BankMatchOut(
                        list_id=b.list_id,
                        list_version=b.list_version,
                        algorithm=b.algorithm,
                        category=b.category,
                        severity=b.severity,
                        distance=b.distance,
                        entry_id=b.entry_id,
                        variant=b.variant or ORIGINAL,
                        match_percent=b.match_percent,
                    )
                )
        attachments[m.sha256] = AttachmentOut(
            sha256=m.sha256,
            size=m.size,
            mime=m.mime,
            pdq=m.pdq,
            pdq_quality=m.pdq_quality,
            decode_error=m.decode_error,
            bank_matches=hits,
            thumbnail_url=base,
            reveal_url=base + "/reveal",
            evidence_destroyed=m.sha256 not in available,
            **_video_fields(base, videos.get(m.sha256)),
        )
    claims = []
    notes: list[str] = []
    for rep in reports:
        try:
            comment = evidence.read(session, rep.report_id, "comment", "")
            hints = evidence.read(session, rep.report_id, "device_matches", "")
        except EvidenceDestroyed:
            destroyed = True
            comment = hints = None
        claims.append(
            ReporterClaimOut(
                report_id=rep.report_id,
                reporter_id=rep.reporter_id,
                reason=rep.reason,
                received_at=rep.received_at,
                comment=None if comment is None else comment.decode("utf-8", "replace"),
                device_matches=_device_hints(hints, rep.report_id, notes),
            )
        )
    cs = allows(role, Permission.CHILD_SAFETY)
    others = item_store.other_items_of_sender(
        session, item.sender_id, item.id, include_child_safety=cs
    )
    return ItemDetailOut(
        item=summary(item, now),
        lease=None if lease is None or not lease.active(now) else lease_out(lease),
        verified=VerifiedOut(message=subject, attachments=list(attachments.values())),
        transcript=transcript,
        reporter_claims=claims,
        other_items_about_sender=[
            OtherItemOut(
                id=o.id,
                reason=o.reason,
                status=o.status,
                outcome=o.outcome,
                reporter_count=o.reporter_count,
                created_at=o.created_at,
            )
            for o in others
        ],
        decisions_about_sender=[
            decision_out(d)
            for d in decision_store.decisions_about_sender(
                session, item.sender_id, include_child_safety=cs
            )
            if d.item_id != item.id
        ],
        decisions=[decision_out(d) for d in decision_store.decisions_of(session, item.id)],
        evidence_destroyed=destroyed,
        notes=notes,
    )


def _video_fields(base: str, video: MediaVideo | None) -> dict[str, Any]:
    """The video part of an attachment's view (nothing for a picture)."""
    if video is None:
        return {}
    return {
        "kind": "video",
        "keyframes": video.keyframe_count,
        "duration_s": video.duration_s,
        "keyframe_urls": [f"{base}/keyframes/{i}" for i in range(video.keyframe_count)],
        "play_url": f"{base}/play",
    }


def _payload(
    session: Session, evidence: EvidenceReader, report_id: str, payload_id: str
) -> dict[str, Any] | None:
    raw = evidence.read(session, report_id, "payload", payload_id)
    if raw is None:
        return None
    try:
        # Stored before intake bounded payloads, a payload may nest deeper than today's
        # limit; only its body and attachment descriptors are read, so allow more here.
        obj = parse_json(raw, max_bytes=None, max_depth=STORED_PAYLOAD_DEPTH)
    except JsonInputError:
        return None
    return obj if isinstance(obj, dict) else None

    # ------------------------------------------------------------------ media


def _text(payload: dict[str, Any] | None) -> str | None:
    if payload is None:
        return None
    body = payload.get("body")
    return body if isinstance(body, str) else None


def _attachments(payload: dict[str, Any] | None) -> list[dict[str, Any]]:
    if payload is None:
        return []
    raw = payload.get("attachments")
    if not isinstance(raw, list):
        return []
    keep = ("id", "sha256", "size", "mime")
    return [{k: a[k] for k in keep if _scalar(a.get(k))} for a in raw[:64] if isinstance(a, dict)]


def _scalar(value: object) -> bool:
    """A descriptor value safe to show: short text or a 64-bit integer."""
    if isinstance(value, str):
        return len(value) <= 256
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _device_hints(
    raw: bytes | None, report_id: str, notes: list[str]
) -> list[dict[str, DeviceHintValue]] | None:
    """The stored device hints in today's intake shape, or ``None`` with a note: hints
    stored by an older version (any JSON, any depth) must never break the item view."""
    if raw is None:
        return None
    try:
        return list(check_device_matches(parse_json(raw, max_bytes=None)))
    except (JsonInputError, ReportFormatError):
        notes.append(
            f"report {report_id}: stored device_matches are not shown: they are not a "
            "list of small flat objects (the evidence keeps them as received)"
        )
        return None
