"""SQL for an item's media: its message's media rows, video facts, encrypted evidence
blobs, and whether a moderator revealed a medium recently.

Every function takes an open :class:`~sqlalchemy.orm.Session` inside a transaction begun
by the caller; nothing here commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from report_service.review.models import AuditRow
from report_service.storage.models import (
    EvidenceBlob,
    Media,
    MediaMessage,
    MediaVideo,
    ReportItem,
    ReviewItem,
)


def media_of_message(session: Session, item: ReviewItem) -> list[Media]:
    """The media rows (service-computed hashes) of an item's message: those of the reports
    merged into the item that intake linked to the item's commitment, by digest then id.

    A report about several reported messages holds the media of all of them; only the
    ``media_messages`` links say which message committed which medium. Media without a
    link (older multi-message reports, see migration ``0003``) belong to no item.

    This is a lookup by the whole item key, not by commitment alone: ``report_items``
    holds only reports that cited this item's stamped message (its commitment, sender and
    conversation), and within such a report a link to the commitment means the payload
    the commitment opens to committed the digest, whoever stamped it (the commitment
    binds the payload). Another item with the same commitment never lends its reports'
    media (docs/protocol.md, "What makes a review item").
    """
    return list(
        session.scalars(
            select(Media)
            .join(MediaMessage, MediaMessage.media_id == Media.id)
            .join(ReportItem, ReportItem.report_id == Media.report_id)
            .where(ReportItem.item_id == item.id, MediaMessage.commitment == item.commitment)
            .order_by(Media.sha256, Media.id)
        )
    )


def videos_of(session: Session, report_ids: Sequence[str]) -> list[MediaVideo]:
    """The video facts (``media_videos``) of the reports' video attachments."""
    if not report_ids:
        return []
    return list(
        session.scalars(
            select(MediaVideo)
            .where(MediaVideo.report_id.in_(report_ids))
            .order_by(MediaVideo.sha256, MediaVideo.id)
        )
    )


def revealed_since(session: Session, actor: str, item_id: int, sha256: str, since_ms: int) -> bool:
    """Whether ``actor`` revealed the medium ``sha256`` of ``item_id`` (an audited
    ``media_reveal``) at or after ``since_ms``."""
    rows = session.scalars(
        select(AuditRow.detail).where(
            AuditRow.actor == actor,
            AuditRow.action == "media_reveal",
            AuditRow.item_id == item_id,
            AuditRow.at_ms >= since_ms,
        )
    )
    for raw in rows:
        try:
            detail = json.loads(raw)
        except ValueError:
            continue
        if isinstance(detail, dict) and detail.get("sha256") == sha256:
            return True
    return False


def evidence_blob(session: Session, report_id: str, kind: str, ref: str) -> EvidenceBlob | None:
    """One encrypted evidence blob, if stored."""
    return session.scalars(
        select(EvidenceBlob).where(
            EvidenceBlob.report_id == report_id, EvidenceBlob.kind == kind, EvidenceBlob.ref == ref
        )
    ).first()
