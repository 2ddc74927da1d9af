"""What the video decoder agrees to decode: :class:`VideoLimits`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_CODECS", "DEFAULT_CONTAINERS", "DEFAULT_VIDEO_LIMITS", "VideoLimits"]

DEFAULT_CONTAINERS: Final = frozenset({"mp4", "matroska", "avi", "mpegts", "flv", "ogg"})
"""Containers recognised by their magic bytes (:mod:`hashes.video._sniff`). The demuxer is
then forced, so FFmpeg's probing never picks a playlist (HLS, concat) or image demuxer that
could open other files or URLs."""

DEFAULT_CODECS: Final = frozenset(
    {
        "h264",
        "hevc",
        "vp8",
        "vp9",
        "av1",
        "mpeg4",
        "mpeg1video",
        "mpeg2video",
        "h263",
        "mjpeg",
        "theora",
        "flv1",
    }
)
"""Video codecs that messengers and cameras send; other FFmpeg decoders are refused."""


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """Bounds on one video's decoding, checked against what the container declares before
    any frame is decoded, and again against what the decoder actually produces.

    Defaults, and why:

    - ``max_bytes`` 256 MiB: messengers cap attachments lower (WhatsApp 2 GiB documents
      aside, videos are sent at 16-100 MiB); the bytes are held in memory once.
    - ``max_duration_s`` 2 hours: a feature film; 7200 frame hashes at one per second.
    - ``max_frame_pixels`` 4096 x 2304 (9.4 Mpx): 4K UHD (3840 x 2160) and DCI 4K at 16:9
      fit; one RGB frame is then at most 28 MiB.
    - ``max_frames`` 432 000: two hours at 60 frames a second (every frame is decoded,
      even those not hashed, because each depends on the ones before it).
    - ``max_decoded_pixels`` 2**39 (550 Gpx): two hours of 1080p at 60 frames a second is
      448 Gpx. This bounds the decoder's work whatever the file size: a few kilobytes of
      a still picture repeated can declare hours of frames (the video zip bomb).
    - ``max_streams`` 16: a film with several audio and subtitle tracks has fewer; a
      container with thousands of streams is an attack on the demuxer.
    - ``max_wall_s`` 600: checked between frames; the sandbox's hard timeout
      (:meth:`hashes.sandbox.HashSandbox.hash_video`) is the backstop for a single frame
      that never returns.
    - ``containers`` :data:`DEFAULT_CONTAINERS`, ``codecs`` :data:`DEFAULT_CODECS`.

    Raises:
        ValueError: (on construction) a limit is not positive.
    """

    max_bytes: int = 256 * 1024 * 1024
    max_duration_s: float = 2 * 3600.0
    max_frame_pixels: int = 4096 * 2304
    max_frames: int = 2 * 3600 * 60
    max_decoded_pixels: int = 1 << 39
    max_streams: int = 16
    max_wall_s: float = 600.0
    containers: frozenset[str] = DEFAULT_CONTAINERS
    codecs: frozenset[str] = DEFAULT_CODECS

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_frame_pixels", "max_frames", "max_decoded_pixels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.max_streams, bool) or not isinstance(self.max_streams, int):
            raise ValueError(f"max_streams must be a positive integer, got {self.max_streams!r}")
        if self.max_streams <= 0:
            raise ValueError(f"max_streams must be a positive integer, got {self.max_streams!r}")
        for name in ("max_duration_s", "max_wall_s"):
            seconds = getattr(self, name)
            ok = isinstance(seconds, int | float) and not isinstance(seconds, bool)
            if not (ok and math.isfinite(seconds) and seconds > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {seconds!r}")
        if not isinstance(self.containers, frozenset) or not isinstance(self.codecs, frozenset):
            raise ValueError("containers and codecs must be frozensets of names")


DEFAULT_VIDEO_LIMITS: Final = VideoLimits()
"""The default limits (a frozen value, shared)."""
