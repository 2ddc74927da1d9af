"""Video: safe decoding (PyAV, under :class:`VideoLimits`), vPDQ hashing compatible with
ThreatExchange's ``vpdq``, the vpdq text format, MD5/SHA-256 of the file, and matching.

>>> video = hash_video(data)                        # doctest: +SKIP
>>> match_video(clip, video).matched                # doctest: +SKIP
True

Hostile input: run :func:`hash_video` in :meth:`hashes.sandbox.HashSandbox.hash_video`
for hard memory and time limits on top of :class:`VideoLimits`.
"""

from hashes.video._sniff import looks_like_video, sniff_container
from hashes.video.compute import MAX_KEYFRAMES, frame_interval, hash_video, keyframes
from hashes.video.limits import (
    DEFAULT_CODECS,
    DEFAULT_CONTAINERS,
    DEFAULT_VIDEO_LIMITS,
    VideoLimits,
)
from hashes.video.vpdq import (
    DEFAULT_COMPARED_MATCH_PERCENT,
    DEFAULT_DISTANCE_THRESHOLD,
    DEFAULT_QUALITY_THRESHOLD,
    DEFAULT_QUERY_MATCH_PERCENT,
    MAX_VPDQ_LINES,
    VideoHash,
    VideoMatch,
    VpdqFrame,
    match_video,
)

__all__ = [
    "DEFAULT_CODECS",
    "DEFAULT_COMPARED_MATCH_PERCENT",
    "DEFAULT_CONTAINERS",
    "DEFAULT_DISTANCE_THRESHOLD",
    "DEFAULT_QUALITY_THRESHOLD",
    "DEFAULT_QUERY_MATCH_PERCENT",
    "DEFAULT_VIDEO_LIMITS",
    "MAX_KEYFRAMES",
    "MAX_VPDQ_LINES",
    "VideoHash",
    "VideoLimits",
    "VideoMatch",
    "VpdqFrame",
    "frame_interval",
    "hash_video",
    "keyframes",
    "looks_like_video",
    "match_video",
    "sniff_container",
]
