"""An item's media: blurred thumbnails and keyframes, video playback after a reveal, and
the audited reveal of an original with a stated reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from report_service.errors import EvidenceDestroyed
from report_service.review.core import Actor, ServiceCore, audit
from report_service.review.decisions import taxonomy
from report_service.review.errors import MediaUndecodable, NotFound, RevealRequired
from report_service.review.media import store as media_store
from report_service.review.media import thumbnails as media_core
from report_service.review.media.evidence_access import EvidenceReader
from report_service.storage.models import ReviewItem


@dataclass(frozen=True, slots=True)
class Medium:
    """Bytes to send back for a media request."""

    data: bytes
    mime: str


class MediaService(ServiceCore):
    """Media of items (a part of :class:`~report_service.review.service.ReviewService`)."""

    _evidence: EvidenceReader

    def thumbnail(self, actor: Actor, item_id: int, sha256: str) -> Medium:
        """A blurred grayscale PNG thumbnail of an item's image. Audited.

        Raises:
            Forbidden, NotFound, LeaseRequired: as for the item detail; NotFound also for
                a medium not attached to the item's subject.
            MediaUndecodable: the image cannot be decoded safely.
            EvidenceDestroyed: the evidence was destroyed.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id)
            self._need_lease(session, actor, item, now, lead_may=True)
            if self._is_video(session, item, sha256):  # its first keyframe, blurred
                png = media_core.blurred_thumbnail(self._keyframe(session, item, sha256, 0))
            else:
                data, _mime = self._original(session, item, sha256)
                png = media_core.blurred_thumbnail(data)
            audit(
                session,
                now,
                actor,
                "media_view",
                item_id,
                {"sha256": sha256, "form": "blurred_thumbnail"},
            )
            return Medium(png, "image/png")

    def keyframe(self, actor: Actor, item_id: int, sha256: str, index: int) -> Medium:
        """A blurred grayscale PNG of one stored keyframe of an item's video (the same
        treatment as a picture's thumbnail). Audited (``media_view``).

        Raises:
            Forbidden, NotFound, LeaseRequired, EvidenceDestroyed: as for
                :meth:`thumbnail`; NotFound also for a keyframe the video does not have.
            MediaUndecodable: the stored keyframe cannot be rendered.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id)
            self._need_lease(session, actor, item, now, lead_may=True)
            png = media_core.blurred_thumbnail(self._keyframe(session, item, sha256, index))
            audit(
                session,
                now,
                actor,
                "media_view",
                item_id,
                {"sha256": sha256, "form": "blurred_keyframe", "keyframe": index},
            )
            return Medium(png, "image/png")

    def play(self, actor: Actor, item_id: int, sha256: str) -> Medium:
        """The original bytes of an item's video for the player, only after the caller
        revealed it (an audited ``media_reveal`` with a reason) within
        :data:`media_core.PLAY_AFTER_REVEAL_MS`. Audited (``media_play``).

        Raises:
            Forbidden, NotFound, LeaseRequired, EvidenceDestroyed: as for :meth:`reveal`.
            RevealRequired: the caller has not revealed this video recently.
        """
        now = self._clock()
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id)
            self._need_lease(session, actor, item, now, lead_may=True)
            since = now - media_core.PLAY_AFTER_REVEAL_MS
            if not media_store.revealed_since(session, actor.name, item_id, sha256, since):
                raise RevealRequired("reveal the video first (POST its reveal_url with a reason)")
            data, _mime = self._original(session, item, sha256)
            audit(
                session,
                now,
                actor,
                "media_play",
                item_id,
                {"sha256": sha256},
            )
            return Medium(data, media_core.video_mime(data))

    def _keyframe(self, session: Session, item: ReviewItem, sha256: str, index: int) -> bytes:
        """Keyframe ``index`` of the video ``sha256`` of the item's message, from the first
        report that still holds it.

        Raises:
            NotFound: no such video or keyframe on the item.
            EvidenceDestroyed: every report that carried it had its evidence destroyed.
        """
        media = media_store.media_of_message(session, item)
        held = {m.report_id for m in media if m.sha256 == sha256}
        destroyed = False
        undecodable = None
        for video in media_store.videos_of(session, sorted(held)):
            if video.sha256 != sha256:
                continue
            if video.decode_error is not None:
                undecodable = video.decode_error
            if not 0 <= index < video.keyframe_count:
                continue
            ref = f"{sha256}:{index}"
            try:
                data = self._evidence.read(session, video.report_id, "keyframe", ref)
            except EvidenceDestroyed:
                destroyed = True
                continue
            if data is not None:
                return data
        if destroyed:
            raise EvidenceDestroyed("the evidence of this video was destroyed")
        if undecodable is not None:
            raise MediaUndecodable(f"the video cannot be decoded safely ({undecodable})")
        raise NotFound("no such keyframe on this item")

    def reveal(self, actor: Actor, item_id: int, sha256: str, reason: str) -> Medium:
        """The original bytes of an item's medium, for a stated reason. Audited.

        The rule (docs/review.md, "Originals and banking"): the holder of the item's live
        lease reveals; a lead without the lease may too, as an override: the stated
        reason is required of everyone, and the audit entry says ``with_lease: false,
        override: true`` so that auditors can review every such reveal.

        Raises:
            InvalidInput: the reason is too short or too long.
            Forbidden, NotFound, LeaseRequired, EvidenceDestroyed: as for :meth:`thumbnail`.
        """
        text = taxonomy.check_reason(reason)
        now = self._clock()
        with self._sessions.begin() as session:
            item = self._item(session, actor, item_id)
            lease = self._need_lease(session, actor, item, now, lead_may=True)
            held = lease is not None and lease.held_by(actor.name, now)
            data, mime = self._original(session, item, sha256)
            audit(
                session,
                now,
                actor,
                "media_reveal",
                item_id,
                {"sha256": sha256, "reason": text, "with_lease": held, "override": not held},
            )
            return Medium(data, mime)

    @staticmethod
    def _is_video(session: Session, item: ReviewItem, sha256: str) -> bool:
        media = media_store.media_of_message(session, item)
        held = {m.report_id for m in media if m.sha256 == sha256}
        return any(v.sha256 == sha256 for v in media_store.videos_of(session, sorted(held)))

    def _original(self, session: Session, item: ReviewItem, sha256: str) -> tuple[bytes, str]:
        """The medium from the first report about the item that still holds it, among the
        media linked to the item's own message (never another reported message's).

        Raises:
            NotFound: no report about the item's message carries the medium for it.
            EvidenceDestroyed: every report that carried it had its evidence destroyed.
        """
        destroyed = False
        for m in media_store.media_of_message(session, item):
            if m.sha256 != sha256:
                continue
            try:
                data = self._evidence.read(session, m.report_id, "attachment", sha256)
            except EvidenceDestroyed:
                destroyed = True
                continue
            if data is not None:
                return data, _safe_mime(m.mime)
        if destroyed:
            raise EvidenceDestroyed("the original of this medium was destroyed")
        raise NotFound("no such medium on this item")


SAFE_MIME_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "video/mp4"}
)


def _safe_mime(mime: str) -> str:
    """The reporter-supplied type if it is a plain media type, else octet-stream: an
    original is never served as HTML, SVG or script."""
    return mime if mime.lower() in SAFE_MIME_TYPES else "application/octet-stream"
