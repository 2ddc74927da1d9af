"""vPDQ values, the vpdq text format, and brute-force matching of two videos.

Reference: ThreatExchange ``vpdq/`` (the C++ hasher ``cpp/vpdq/cpp/hashing`` and its
``io/vpdqio.cpp``) and python-threatexchange's ``extensions/vpdq`` (the matching that
HMA runs: ``vpdq_util.py``, ``vpdq_brute_matcher.py``). This module is written from
their behaviour:

- a video's hash is a list of frame features: frame number (in decoding order, from 0),
  PDQ quality (0..100), the frame's 256-bit PDQ hash, and its timestamp in seconds;
- the text form is one feature a line, ``frame_number,quality,pdq_hex,timestamp``, the
  timestamp with three decimals (``vpdqio.cpp``);
- matching drops repeated hashes (the first of each kept) and then features below the
  quality cut-off (50), then counts query features that have a target feature within
  Hamming distance 31 (inclusive, as python-threatexchange; the C++ ``matchTwoHash``
  uses ``< 31``), and the reverse; the two counts as percentages of the filtered lists
  are the query-match and compared-match percentages. HMA calls it a match when the
  query-match percentage is at least 80 and the compared-match percentage at least 0,
  so a short clip of a long listed video matches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from hashes.errors import HashFormatError
from hashes.values import Algorithm, HashValue

__all__ = [
    "DEFAULT_COMPARED_MATCH_PERCENT",
    "DEFAULT_DISTANCE_THRESHOLD",
    "DEFAULT_QUALITY_THRESHOLD",
    "DEFAULT_QUERY_MATCH_PERCENT",
    "MAX_VPDQ_LINES",
    "VideoHash",
    "VideoMatch",
    "VpdqFrame",
    "match_video",
]

DEFAULT_QUALITY_THRESHOLD: Final = 50
"""Frames with a PDQ quality below this are left out of matching (vpdq's default)."""

DEFAULT_DISTANCE_THRESHOLD: Final = 31
"""Two frames match when their PDQ hashes differ in at most this many bits."""

DEFAULT_QUERY_MATCH_PERCENT: Final = 80.0
"""Share of the query's frames that must find a match in the target (HMA's default)."""

DEFAULT_COMPARED_MATCH_PERCENT: Final = 0.0
"""Share of the target's frames that must find a match in the query (HMA's default: 0,
so a clip matches the long video it was cut from)."""

MAX_VPDQ_LINES: Final = 2 * 3600 * 60
"""Default bound on the lines of an imported vpdq file (two hours, every frame at 60 fps)."""

_MAX_LINE_CHARS: Final = 128


@dataclass(frozen=True, slots=True)
class VpdqFrame:
    """One frame's feature: number (decoding order, from 0), PDQ quality (0..100), PDQ hash
    and timestamp in seconds.

    Raises:
        HashFormatError: (on construction) a field is out of range or of the wrong type.
    """

    frame_number: int
    quality: int
    pdq: HashValue
    timestamp: float

    def __post_init__(self) -> None:
        for name in ("frame_number", "quality"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise HashFormatError(f"a vpdq {name} must be an integer")
        if self.frame_number < 0:
            raise HashFormatError("a vpdq frame number cannot be negative")
        if not 0 <= self.quality <= 100:
            raise HashFormatError("a vpdq quality is between 0 and 100")
        if not isinstance(self.pdq, HashValue) or self.pdq.algorithm is not Algorithm.PDQ:
            raise HashFormatError("a vpdq frame hash must be a PDQ hash")
        ok = isinstance(self.timestamp, int | float) and not isinstance(self.timestamp, bool)
        if not (ok and math.isfinite(self.timestamp) and self.timestamp >= 0):
            raise HashFormatError("a vpdq timestamp must be a finite, non-negative number")

    def to_line(self) -> str:
        """The vpdq text line ``frame_number,quality,pdq_hex,timestamp`` (no newline)."""
        return f"{self.frame_number},{self.quality},{self.pdq.hex},{self.timestamp:.3f}"

    @classmethod
    def from_line(cls, line: str) -> VpdqFrame:
        """Parse one vpdq text line.

        Raises:
            HashFormatError: not four comma-separated fields of the right form.
        """
        if len(line) > _MAX_LINE_CHARS:
            raise HashFormatError("a vpdq line is too long")
        fields = line.strip().split(",")
        if len(fields) != 4:
            raise HashFormatError(
                "a vpdq line is 'frame_number,quality,pdq_hex,timestamp' (four fields)"
            )
        number, quality, pdq_hex, timestamp = (f.strip() for f in fields)
        if not (number.isascii() and number.isdigit() and quality.isascii() and quality.isdigit()):
            raise HashFormatError("a vpdq frame number and quality are decimal integers")
        try:
            seconds = float(timestamp)
        except ValueError:
            raise HashFormatError("a vpdq timestamp must be a decimal number") from None
        if not timestamp.isascii() or "_" in timestamp:
            raise HashFormatError("a vpdq timestamp must be a decimal number")
        return cls(int(number), int(quality), HashValue.from_hex(Algorithm.PDQ, pdq_hex), seconds)


@dataclass(frozen=True, slots=True)
class VideoHash:
    """A video's vPDQ hash (its frame features) and, when hashed from the file, the file's
    MD5 and SHA-256 (for exact matches), duration, frame rate and frame size.

    ``==`` is exact (every field); :func:`match_video` is the similarity, and
    :meth:`same_file` the exact-bytes comparison.

    Raises:
        HashFormatError: (on construction) a field has the wrong type or range.
    """

    frames: tuple[VpdqFrame, ...]
    md5: HashValue | None = None
    sha256: HashValue | None = None
    duration_s: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.frames, tuple) or not all(
            isinstance(f, VpdqFrame) for f in self.frames
        ):
            raise HashFormatError("a video hash's frames must be a tuple of VpdqFrame")
        for name, algorithm in (("md5", Algorithm.MD5), ("sha256", Algorithm.SHA256)):
            value = getattr(self, name)
            if value is not None and (
                not isinstance(value, HashValue) or value.algorithm is not algorithm
            ):
                raise HashFormatError(f"a video hash's {name} must be a {algorithm.value} hash")
        for name in ("duration_s", "fps"):
            number = getattr(self, name)
            if number is not None and not (
                isinstance(number, int | float)
                and not isinstance(number, bool)
                and math.isfinite(number)
                and number >= 0
            ):
                raise HashFormatError(f"a video hash's {name} must be a non-negative number")
        for name in ("width", "height"):
            size = getattr(self, name)
            if size is not None and (
                isinstance(size, bool) or not isinstance(size, int) or size <= 0
            ):
                raise HashFormatError(f"a video hash's {name} must be a positive integer")

    # --- the vpdq text format ---------------------------------------------------------

    def to_vpdq(self) -> str:
        """The frames in vpdq's text format: one ``frame_number,quality,pdq_hex,timestamp``
        line each, newline-terminated (the file-level fields are not part of it)."""
        return "".join(frame.to_line() + "\n" for frame in self.frames)

    @classmethod
    def from_vpdq(cls, text: str, *, max_lines: int = MAX_VPDQ_LINES) -> VideoHash:
        """Parse vpdq's text format (blank lines and a final newline are ignored). The
        result has frames only; its file-level fields are None.

        Raises:
            HashFormatError: a malformed line, or more than ``max_lines`` lines.
        """
        if not isinstance(text, str):
            raise HashFormatError("a vpdq hash file is text")
        if len(text) > max_lines * (_MAX_LINE_CHARS + 2):
            raise HashFormatError(f"a vpdq hash file has more than {max_lines} lines")
        frames: list[VpdqFrame] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if len(frames) >= max_lines:
                raise HashFormatError(f"a vpdq hash file has more than {max_lines} lines")
            try:
                frames.append(VpdqFrame.from_line(line))
            except HashFormatError as exc:
                raise HashFormatError(f"line {number}: {exc}") from None
        return cls(tuple(frames))

    # --- a JSON-ready form ------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form: ``{"vpdq": <text>, "md5", "sha256", "duration_s", "fps",
        "width", "height"}`` (hashes as ``<algorithm>:<hex>`` text; absent fields None)."""
        return {
            "vpdq": self.to_vpdq(),
            "md5": None if self.md5 is None else self.md5.to_text(),
            "sha256": None if self.sha256 is None else self.sha256.to_text(),
            "duration_s": self.duration_s,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, max_lines: int = MAX_VPDQ_LINES) -> VideoHash:
        """The inverse of :meth:`to_dict`.

        Raises:
            HashFormatError: a missing or malformed field.
        """
        text = data.get("vpdq")
        if not isinstance(text, str):
            raise HashFormatError("a video hash needs its 'vpdq' text")
        frames = cls.from_vpdq(text, max_lines=max_lines).frames
        hashes: dict[str, HashValue | None] = {}
        for name, algorithm in (("md5", Algorithm.MD5), ("sha256", Algorithm.SHA256)):
            value = data.get(name)
            if value is None:
                hashes[name] = None
                continue
            if not isinstance(value, str):
                raise HashFormatError(f"a video hash's {name} must be text")
            parsed = HashValue.from_text(value)
            if parsed.algorithm is not algorithm:
                raise HashFormatError(f"a video hash's {name} must be a {algorithm.value} hash")
            hashes[name] = parsed
        numbers: dict[str, float | None] = {}
        for name in ("duration_s", "fps"):
            number = data.get(name)
            if number is not None and (
                isinstance(number, bool) or not isinstance(number, int | float)
            ):
                raise HashFormatError(f"a video hash's {name} must be a number")
            numbers[name] = None if number is None else float(number)
        sizes: dict[str, int | None] = {}
        for name in ("width", "height"):
            size = data.get(name)
            if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
                raise HashFormatError(f"a video hash's {name} must be an integer")
            sizes[name] = size
        return cls(
            frames,
            md5=hashes["md5"],
            sha256=hashes["sha256"],
            duration_s=numbers["duration_s"],
            fps=numbers["fps"],
            width=sizes["width"],
            height=sizes["height"],
        )

    # --- comparisons ------------------------------------------------------------------

    def same_file(self, other: VideoHash) -> bool:
        """True when both carry the file's SHA-256 (else MD5) and it is equal: the very
        same bytes. False when either lacks the digest."""
        if self.sha256 is not None and other.sha256 is not None:
            return self.sha256 == other.sha256
        if self.md5 is not None and other.md5 is not None:
            return self.md5 == other.md5
        return False


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """The result of :func:`match_video`.

    ``query_match_percent``: share (0..100) of the query's usable frames with a target
    frame within the distance threshold; ``compared_match_percent`` the reverse;
    ``query_frames`` / ``compared_frames``: how many frames of each were usable (above the
    quality cut-off, repeated hashes once); ``matched``: both percentages at or above
    their thresholds, and both videos had usable frames.
    """

    query_match_percent: float
    compared_match_percent: float
    query_frames: int
    compared_frames: int
    matched: bool


def _usable(frames: Sequence[VpdqFrame], quality_threshold: int) -> npt.NDArray[np.uint64]:
    """Hashes of the frames that take part in matching, as rows of 4 uint64."""
    kept = usable_digests(frames, quality_threshold)
    if not kept:
        return np.zeros((0, 4), dtype=np.uint64)
    return np.frombuffer(b"".join(kept), dtype=">u8").astype(np.uint64).reshape(-1, 4)


def usable_digests(frames: Sequence[VpdqFrame], quality_threshold: int) -> list[bytes]:
    """The PDQ digests of the frames that take part in matching, in order."""
    # As python-threatexchange's brute matcher: repeated hashes first (the first of each
    # kept, whatever its quality), then the quality cut-off.
    seen: set[bytes] = set()
    kept: list[bytes] = []
    for frame in frames:
        digest = frame.pdq.digest
        if digest in seen:
            continue
        seen.add(digest)
        if frame.quality >= quality_threshold:
            kept.append(digest)
    return kept


def _count_within(
    a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64], threshold: int
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """For each row of ``a``: has it a row of ``b`` within ``threshold`` bits; and the
    same for ``b``. Blocks of ``a`` bound the distance matrix held at once."""
    a_hit = np.zeros(len(a), dtype=bool)
    b_hit = np.zeros(len(b), dtype=bool)
    block = max(1, (1 << 20) // max(1, len(b)))
    for start in range(0, len(a), block):
        rows = a[start : start + block]
        xor = rows[:, None, :] ^ b[None, :, :]
        distance = np.bitwise_count(xor).sum(axis=2, dtype=np.int32)
        close = distance <= threshold
        a_hit[start : start + block] = close.any(axis=1)
        b_hit |= close.any(axis=0)
    return a_hit, b_hit


def match_video(
    query: VideoHash,
    target: VideoHash,
    *,
    distance_threshold: int = DEFAULT_DISTANCE_THRESHOLD,
    quality_threshold: int = DEFAULT_QUALITY_THRESHOLD,
    query_match_percent: float = DEFAULT_QUERY_MATCH_PERCENT,
    compared_match_percent: float = DEFAULT_COMPARED_MATCH_PERCENT,
) -> VideoMatch:
    """Match ``query`` against ``target`` by vPDQ (brute force, exact).

    A video with no usable frame (all below the quality cut-off, e.g. a black screen)
    matches nothing: both percentages are 0.

    Raises:
        ValueError: a threshold out of range (distance 0..256, quality 0..100,
            percentages 0..100).
    """
    if isinstance(distance_threshold, bool) or not 0 <= distance_threshold <= 256:
        raise ValueError("distance_threshold must be between 0 and 256")
    if isinstance(quality_threshold, bool) or not 0 <= quality_threshold <= 100:
        raise ValueError("quality_threshold must be between 0 and 100")
    for percent in (query_match_percent, compared_match_percent):
        if not (math.isfinite(percent) and 0.0 <= percent <= 100.0):
            raise ValueError("match percentages must be between 0 and 100")
    q = _usable(query.frames, quality_threshold)
    t = _usable(target.frames, quality_threshold)
    if len(q) == 0 or len(t) == 0:
        return VideoMatch(0.0, 0.0, len(q), len(t), False)
    q_hit, t_hit = _count_within(q, t, distance_threshold)
    q_percent = int(q_hit.sum()) * 100.0 / len(q)
    t_percent = int(t_hit.sum()) * 100.0 / len(t)
    matched = q_percent >= query_match_percent and t_percent >= compared_match_percent
    return VideoMatch(q_percent, t_percent, len(q), len(t), matched)
