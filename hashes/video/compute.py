"""Hashing a video (vPDQ, MD5, SHA-256) and picking keyframes for the moderator's view.

Frame choice, as vpdq's C++ hasher (``filehasher.cpp``, ``hasher.cpp``) makes it: every
frame is decoded; frames are numbered in decoding order from 0; frame ``n`` is hashed when
``n % every == 0`` with ``every = int(seconds_per_hash * fps)`` (truncated; 1 when that
is 0, so ``seconds_per_hash=0`` hashes every frame), ``fps`` the stream's average frame
rate (else its base rate); the frame's timestamp is ``n / fps`` in single precision.
Each chosen frame is converted to RGB at the size the stream declared (swscale, area
filter, BT.601; a frame of another size is scaled to it, as vpdq does) and hashed by
:func:`hashes.pdq.pdq_hash`, the bit-exact PDQ.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from hashes.pdq import pdq_hash
from hashes.values import Algorithm, HashValue
from hashes.video._decode import VideoInfo, decode_frames, open_video
from hashes.video.limits import DEFAULT_VIDEO_LIMITS, VideoLimits
from hashes.video.vpdq import VideoHash, VpdqFrame

__all__ = ["frame_interval", "hash_video", "keyframes"]

MAX_KEYFRAMES = 16
"""The most keyframes :func:`keyframes` returns."""


def frame_interval(fps: float, seconds_per_hash: float) -> int:
    """vpdq's step between hashed frames: ``int(seconds_per_hash * fps)``, at least 1."""
    return max(1, int(seconds_per_hash * fps))


def timestamp(number: int, fps: float) -> float:
    # vpdq: static_cast<float>(frameNumber) / (float) framerate, in single precision.
    return float(np.float32(number) / np.float32(fps))


def check_seconds_per_hash(seconds_per_hash: float) -> None:
    """Raises ValueError unless ``seconds_per_hash`` is a finite, non-negative number."""
    if not (isinstance(seconds_per_hash, int | float) and math.isfinite(seconds_per_hash)):
        raise ValueError("seconds_per_hash must be a finite number")
    if seconds_per_hash < 0:
        raise ValueError("seconds_per_hash cannot be negative")


def hash_video(
    data: bytes,
    *,
    limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
    seconds_per_hash: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> VideoHash:
    """The vPDQ hash of a video's first video stream, with the file's MD5 and SHA-256.

    Raises:
        ValueError: ``seconds_per_hash`` is negative or not finite.
        EmptyInput, TooManyBytes, UnsupportedFormat, TooManyStreams, TooManyPixels,
        VideoTooLong, TooManyFrames, TooManyDecodedPixels, DecodeTimeout, CorruptVideo:
            as :mod:`hashes.video._decode` (each a :class:`~hashes.errors.DecodeError`).
    """
    check_seconds_per_hash(seconds_per_hash)
    opened = open_video(data, limits)
    try:
        info = opened.info
        every = frame_interval(info.fps, seconds_per_hash)
        frames: list[VpdqFrame] = []
        last_time: float | None = None
        for decoded in decode_frames(opened, limits, clock=clock):
            if decoded.time_s is not None:
                last_time = decoded.time_s
            if decoded.number % every:
                continue
            value, quality = pdq_hash(decoded.rgb(info.width, info.height))
            frames.append(
                VpdqFrame(decoded.number, quality, value, timestamp(decoded.number, info.fps))
            )
    finally:
        opened.close()
    return assemble(data, info, frames, last_time)


def assemble(
    data: bytes, info: VideoInfo, frames: list[VpdqFrame], last_time: float | None
) -> VideoHash:
    """The :class:`VideoHash` of hashed ``frames``: the file's digests, and its duration
    (declared, else the last frame's time plus one frame)."""
    duration = info.duration_s
    if duration is None and last_time is not None:
        duration = last_time + 1.0 / info.fps
    raw = data if isinstance(data, bytes) else bytes(data)
    return VideoHash(
        tuple(frames),
        md5=HashValue(Algorithm.MD5, hashlib.md5(raw, usedforsecurity=False).digest()),
        sha256=HashValue(Algorithm.SHA256, hashlib.sha256(raw).digest()),
        duration_s=duration,
        fps=info.fps,
        width=info.width,
        height=info.height,
    )


def keyframes(
    data: bytes,
    *,
    count: int = 4,
    limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
    clock: Callable[[], float] = time.monotonic,
) -> list[Image.Image]:
    """``count`` frames evenly spaced through the video (frame ``floor((i + 0.5) * n /
    count)`` of ``n``), as RGB pictures at the video's size; fewer when the video has
    fewer frames. Decodes the video twice (once to count frames), under ``limits`` each
    time.

    Raises:
        ValueError: ``count`` is not between 1 and :data:`MAX_KEYFRAMES`.
        as :func:`hash_video` otherwise.
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_KEYFRAMES:
        raise ValueError(f"count must be between 1 and {MAX_KEYFRAMES}")
    opened = open_video(data, limits)
    try:
        total = sum(1 for _ in decode_frames(opened, limits, clock=clock))
    finally:
        opened.close()
    if total == 0:
        return []
    wanted = sorted({(2 * i + 1) * total // (2 * count) for i in range(count)})
    pictures: list[Image.Image] = []
    opened = open_video(data, limits)
    try:
        for decoded in decode_frames(opened, limits, clock=clock):
            if decoded.number == wanted[len(pictures)]:
                pictures.append(Image.fromarray(decoded.rgb(), "RGB"))
                if len(pictures) == len(wanted):
                    break
    finally:
        opened.close()
    return pictures
