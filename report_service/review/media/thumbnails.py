"""Wellness-first media (pure): blurred, grayscale, small thumbnails.

A moderator first sees every image as a grayscale thumbnail no larger than
:data:`THUMB_SIDE` pixels, blurred with a Gaussian of radius ``side / 10`` (at least
:data:`MIN_BLUR_RADIUS`): enough to judge layout and whether to look closer, not enough to
see detail. The original is released only through an audited reveal with a stated reason.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageFilter, ImageOps

from hashes.decode import DecodeLimits, check_image
from hashes.errors import DecodeError
from report_service.review.errors import MediaUndecodable

PLAY_AFTER_REVEAL_MS = 15 * 60 * 1000
"""How long after an audited reveal its moderator may play the video's original."""
VIDEO_MIME = {"mp4": "video/mp4", "matroska": "video/webm", "ogg": "video/ogg"}
THUMB_SIDE = 256
MIN_BLUR_RADIUS = 8.0
MAX_PIXELS = 40_000_000
MAX_BYTES = 50 * 1024 * 1024
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
_LIMITS = DecodeLimits(
    max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS, formats=frozenset(ALLOWED_FORMATS)
)


def blurred_thumbnail(data: bytes, *, side: int = THUMB_SIDE) -> bytes:
    """A PNG: ``data`` decoded, grayscale, downscaled to at most ``side`` px, blurred.

    Raises:
        MediaUndecodable: empty, too large, not an allowed image format, or corrupt.
    """
    if not data:
        raise MediaUndecodable("the medium is empty")
    if len(data) > MAX_BYTES:
        raise MediaUndecodable("the medium is too large to render")
    try:  # the header checks of hashes.decode first: scans and memory, not just pixels
        check_image(data, _LIMITS, draft_size=(side, side))
    except DecodeError as exc:
        reason = type(exc).__name__
        raise MediaUndecodable(f"the medium cannot be rendered safely ({reason})") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as im:
                width, height = im.size
                if width * height > MAX_PIXELS or width <= 0 or height <= 0:
                    raise MediaUndecodable("the image has too many pixels")
                im.draft("L", (side, side))
                gray = ImageOps.exif_transpose(im).convert("L")
    except MediaUndecodable:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise MediaUndecodable("the medium is not a decodable image") from exc
    gray.thumbnail((side, side), Image.Resampling.LANCZOS)
    radius = max(MIN_BLUR_RADIUS, max(gray.size) / 10)
    blurred = gray.filter(ImageFilter.GaussianBlur(radius))
    out = io.BytesIO()
    blurred.save(out, format="PNG", optimize=False)
    return out.getvalue()


def video_mime(data: bytes) -> str:
    """The Content-Type a browser plays ``data`` under, from its container's magic bytes
    (never the reporter's word): MP4/MOV, Matroska/WebM, Ogg; anything else
    ``application/octet-stream`` (not played inline)."""
    from hashes.video import sniff_container

    return VIDEO_MIME.get(sniff_container(data) or "", "application/octet-stream")
