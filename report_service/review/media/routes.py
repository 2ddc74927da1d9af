"""Media routes: blurred thumbnails and keyframes, playback, and the audited reveal.

Each route validates its request model, calls one
:class:`~report_service.review.service.ReviewService` method and returns a response
model; errors are mapped by :mod:`report_service.http_errors`.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from report_service.review.http import (
    BAD_BODY,
    DESTROYED,
    ITEM_ERRORS,
    NO_STORE,
    Caller,
    ItemId,
    KeyframeIndex,
    Service,
    Sha256,
    _err,
)
from report_service.review.schemas import ReasonIn

router = APIRouter(prefix="/v1")



@router.get(
    "/review/items/{item_id}/media/{sha256}",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "Blurred grayscale PNG."},
        **ITEM_ERRORS,
        410: DESTROYED,
        422: _err("The medium cannot be decoded safely.", "media_undecodable"),
    },
    tags=["review"],
)
def thumbnail(service: Service, actor: Caller, item_id: ItemId, sha256: Sha256) -> Response:
    """A grayscale, downscaled (at most 256 px), strongly blurred PNG of an image
    attachment: the default, wellness-first view. Audited (`media_view`)."""
    medium = service.thumbnail(actor, item_id, sha256)
    return Response(medium.data, media_type=medium.mime, headers=NO_STORE)


@router.get(
    "/review/items/{item_id}/media/{sha256}/keyframes/{index}",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "Blurred grayscale PNG."},
        **ITEM_ERRORS,
        410: DESTROYED,
        422: _err("The keyframe cannot be rendered safely.", "media_undecodable"),
    },
    tags=["review"],
)
def keyframe(
    service: Service, actor: Caller, item_id: ItemId, sha256: Sha256, index: KeyframeIndex
) -> Response:
    """One keyframe of a video attachment (kept, encrypted, at intake), grayscale,
    downscaled and blurred like a picture's thumbnail: the default view of a video.
    Audited (`media_view`)."""
    medium = service.keyframe(actor, item_id, sha256, index)
    return Response(medium.data, media_type=medium.mime, headers=NO_STORE)


@router.get(
    "/review/items/{item_id}/media/{sha256}/play",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": {}, "video/webm": {}}, "description": "The video."},
        **ITEM_ERRORS,
        403: _err("Reveal the video first (its reveal_url, with a reason).", "reveal_required"),
        410: DESTROYED,
    },
    tags=["review"],
)
def play(service: Service, actor: Caller, item_id: ItemId, sha256: Sha256) -> Response:
    """A video attachment's original for the console's player (`<video muted>`), only
    within 15 minutes after the caller's own audited reveal of it; the Content-Type comes
    from the file's container (MP4, WebM, Ogg), never from the reporter. Audited
    (`media_play`)."""
    medium = service.play(actor, item_id, sha256)
    return Response(medium.data, media_type=medium.mime, headers=NO_STORE)


@router.post(
    "/review/items/{item_id}/media/{sha256}/reveal",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "Original bytes."},
        **ITEM_ERRORS,
        **BAD_BODY,
        410: DESTROYED,
        422: _err("The reason is missing or too short.", "invalid_request"),
    },
    tags=["review"],
)
def reveal(
    service: Service, actor: Caller, item_id: ItemId, sha256: Sha256, body: ReasonIn
) -> Response:
    """The original attachment, only with a stated reason (at least 10 characters), which
    is written to the audit log (`media_reveal`)."""
    medium = service.reveal(actor, item_id, sha256, body.reason)
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{sha256}"'}
    return Response(medium.data, media_type=medium.mime, headers=headers)
