"""Query variants of a video: its frames as they may have looked before a simple edit.

People mirror, letterbox and cut videos before they forward them. A list holds vPDQ of the
original only (exactly what ThreatExchange's ``vpdq`` gives, :func:`hash_video`), so the
*query* is hashed in the shapes it may have had, from the same decoding pass, and matched
one shape at a time (every frame of the query under the same transform, then HMA's rule):

- dihedral (``flipy``, ``rotate90``, ... :data:`hashes.pdq.DIHEDRAL_NAMES`): the eight
  rotations and flips of every hashed frame, read off the same DCT as the frame's PDQ
  (no extra pixel work). A copy mirrored left-right matches through ``flipy``.
- mirrored (``mirrored``, opt-in): the PDQ of each hashed frame mirrored left-right,
  hashed again (fast path): on small frames PDQ's decimation grid is not symmetric, so
  the read-off ``flipy`` can lie 20-40 bits from a mirrored copy's hash.
- trimmed (``trimmed``, ``trimmed+flipy``, ...): when the video has a dark border
  (letterbox or pillarbox bars, :func:`dark_border`), each hashed frame cropped to the
  picture inside it. One more PDQ a hashed frame (the fast path,
  :func:`hashes.pdq.pdq_dihedral_fast_with_quality`).
- phases (``phase1/2``, ``phase1/4``, ...): the frames ``k / phases`` of a step after
  vpdq's grid (frame ``n`` with ``n % every == round(k * every / phases)``), so a clip
  cut between two of vpdq's frames still has frames where the listed video has them.
  One more decoded-frame conversion and PDQ (fast path) per extra phase and step.
  Combined with the others (``phase1/2+flipy``, ``trimmed+phase1/2``, ...).

The ``original`` variant is the video's vPDQ, bit for bit :func:`hash_video`'s (the
hashes are :func:`hashes.pdq.pdq_dihedral_with_quality`'s ``original``, which is
:func:`hashes.pdq.pdq_hash`); variants are never stored or exported, only matched.

"Dark border" (:func:`dark_border`): a run of whole rows (or columns) at one edge whose
luma mean is at most :attr:`BorderPolicy.max_mean` and whose spread (standard deviation
along the line) is at most :attr:`BorderPolicy.max_std` in *every* usable sampled frame
(PDQ quality 50 or more). The box is decided on the first
:attr:`BorderPolicy.decide_frames` usable frames, and kept only if all usable frames
agree at the end; thinner than :attr:`BorderPolicy.min_border` of the side is ignored, and
an axis is left alone when less than :attr:`BorderPolicy.min_remaining` would remain.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt

from hashes.pdq import (
    DIHEDRAL_NAMES,
    LOW_QUALITY,
    pdq_dihedral_fast_with_quality,
    pdq_dihedral_with_quality,
    pdq_luma,
)
from hashes.values import HashValue
from hashes.video._decode import decode_frames, open_video
from hashes.video.compute import (
    assemble,
    check_seconds_per_hash,
    frame_interval,
    timestamp,
)
from hashes.video.limits import DEFAULT_VIDEO_LIMITS, VideoLimits
from hashes.video.vpdq import (
    DEFAULT_COMPARED_MATCH_PERCENT,
    DEFAULT_DISTANCE_THRESHOLD,
    DEFAULT_QUALITY_THRESHOLD,
    DEFAULT_QUERY_MATCH_PERCENT,
    VideoHash,
    VideoMatch,
    VpdqFrame,
    match_video,
)

__all__ = [
    "ALL_VIDEO_VARIANTS",
    "DEVICE_VIDEO_VARIANTS",
    "NO_VIDEO_VARIANTS",
    "ORIGINAL",
    "SERVICE_VIDEO_VARIANTS",
    "VIDEO_VARIANT_PRESETS",
    "BorderBox",
    "BorderPolicy",
    "VideoVariantMatch",
    "VideoVariantPolicy",
    "VideoVariants",
    "dark_border",
    "hash_video_variants",
    "match_video_variants",
]

ORIGINAL: Final = "original"
TRIMMED: Final = "trimmed"
MIRRORED: Final = "mirrored"
MAX_PHASES: Final = 8

F32 = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class BorderPolicy:
    """What counts as a dark border (module docstring). Luma levels 0..255; shares of
    the side.

    Raises:
        ValueError: (on construction) a value outside its range.
    """

    max_mean: float = 32.0
    max_std: float = 6.0
    min_border: float = 0.02
    min_remaining: float = 0.4
    decide_frames: int = 3

    def __post_init__(self) -> None:
        if not (0 <= self.max_mean <= 255 and 0 <= self.max_std <= 255):
            raise ValueError("max_mean and max_std are luma levels, 0..255")
        if not (0 < self.min_border < 1 and 0 < self.min_remaining <= 1):
            raise ValueError("min_border and min_remaining are shares of a side, in (0, 1)")
        if isinstance(self.decide_frames, bool) or not 1 <= self.decide_frames <= 16:
            raise ValueError("decide_frames must be between 1 and 16")


@dataclass(frozen=True, slots=True)
class VideoVariantPolicy:
    """Which query variants :func:`hash_video_variants` makes (module docstring).

    ``dihedral``: the eight rotations and flips (no extra pixel work); ``mirror``: the
    PDQ of the frame's pixels mirrored left-right (one more PDQ per hashed frame, fast
    path: it finds mirrored copies of small videos, where PDQ's decimation grid is not
    symmetric and the read-off ``flipy`` lies 20-40 bits from it); ``trim``: the
    frames inside a dark border (one more PDQ per hashed frame when there is a border);
    ``phases``: 1 for vpdq's grid only, ``p`` for ``p - 1`` more grids offset by
    ``k / p`` of a step (each one more conversion and PDQ per step).

    Raises:
        ValueError: (on construction) ``phases`` not between 1 and :data:`MAX_PHASES`.
    """

    dihedral: bool = True
    mirror: bool = False
    trim: bool = False
    phases: int = 1
    border: BorderPolicy = field(default_factory=BorderPolicy)

    def __post_init__(self) -> None:
        if isinstance(self.phases, bool) or not isinstance(self.phases, int):
            raise ValueError("phases must be an integer")
        if not 1 <= self.phases <= MAX_PHASES:
            raise ValueError(f"phases must be between 1 and {MAX_PHASES}")


NO_VIDEO_VARIANTS: Final = VideoVariantPolicy(dihedral=False)
"""vPDQ alone (the ``original`` variant only)."""

DEVICE_VIDEO_VARIANTS: Final = VideoVariantPolicy(dihedral=True, mirror=True, trim=True, phases=1)
"""The device scanner's default: mirrors and rotations (free) and a dark border's trim
(one more fast PDQ per hashed frame, only for a video that has one)."""

SERVICE_VIDEO_VARIANTS: Final = VideoVariantPolicy(dihedral=True, mirror=True, trim=True, phases=2)
"""The service's default: the device's, and the half-step grid for clips cut off vpdq's
one-second grid (about twice the PDQ work)."""


ALL_VIDEO_VARIANTS: Final = VideoVariantPolicy(dihedral=True, mirror=True, trim=True, phases=4)
"""Every variant, with the quarter-step grids (about twice vPDQ's CPU)."""

VIDEO_VARIANT_PRESETS: Final[Mapping[str, VideoVariantPolicy | None]] = MappingProxyType(
    {
        "none": None,
        "device": DEVICE_VIDEO_VARIANTS,
        "service": SERVICE_VIDEO_VARIANTS,
        "all": ALL_VIDEO_VARIANTS,
    }
)
"""Named settings (``FRANKLY_VIDEO_QUERY_VARIANTS``): ``none`` is vPDQ alone."""


@dataclass(frozen=True, slots=True)
class BorderBox:
    """Rows and columns of dark border at each edge (all >= 0, at least one > 0)."""

    top: int
    bottom: int
    left: int
    right: int

    def crop(self, luma: F32) -> F32:
        rows, cols = luma.shape
        return luma[self.top : rows - self.bottom, self.left : cols - self.right]


def _run(dark: npt.NDArray[np.bool_]) -> int:
    """Leading True values."""
    outside = np.flatnonzero(~dark)
    return int(outside[0]) if outside.size else int(dark.shape[0])


def _axis(dark: npt.NDArray[np.bool_], policy: BorderPolicy) -> tuple[int, int]:
    side = int(dark.shape[0])
    minimum = max(1, math.ceil(policy.min_border * side))
    start, end = _run(dark), _run(dark[::-1])
    start = start if start >= minimum else 0
    end = end if end >= minimum else 0
    if side - start - end < max(policy.min_remaining * side, 16):
        return 0, 0
    return start, end


def _line_stats(luma: F32) -> tuple[F32, F32, F32, F32]:
    """Per-row mean and standard deviation, per-column mean and standard deviation."""
    return (
        luma.mean(axis=1, dtype=np.float32),
        luma.std(axis=1, dtype=np.float32),
        luma.mean(axis=0, dtype=np.float32),
        luma.std(axis=0, dtype=np.float32),
    )


def _box_from_stats(stats: tuple[F32, F32, F32, F32], policy: BorderPolicy) -> BorderBox | None:
    row_mean, row_std, col_mean, col_std = stats
    rows_dark = (row_mean <= policy.max_mean) & (row_std <= policy.max_std)
    cols_dark = (col_mean <= policy.max_mean) & (col_std <= policy.max_std)
    top, bottom = _axis(rows_dark, policy)
    left, right = _axis(cols_dark, policy)
    if top == bottom == left == right == 0:
        return None
    return BorderBox(top, bottom, left, right)


def dark_border(
    lumas: Sequence[npt.NDArray[np.floating]], policy: BorderPolicy | None = None
) -> BorderBox | None:
    """The dark border that every one of ``lumas`` (``H x W`` luma arrays of one size)
    has, or None.

    Raises:
        ValueError: no arrays, or arrays not 2-D of one size.
    """
    policy = policy or BorderPolicy()
    if not lumas:
        raise ValueError("dark_border needs at least one frame")
    tracker = _BorderTracker(policy)
    for luma in lumas:
        array = np.asarray(luma, dtype=np.float32)
        if array.ndim != 2 or array.shape != np.shape(lumas[0]):
            raise ValueError("frames must be 2-D luma arrays of one size")
        tracker.add(array)
    return tracker.box()


class _BorderTracker:
    """The worst (largest) line mean and spread over the frames seen so far."""

    def __init__(self, policy: BorderPolicy) -> None:
        self.policy = policy
        self.seen = 0
        self._worst: list[F32] | None = None

    def add(self, luma: F32) -> None:
        stats = _line_stats(luma)
        if self._worst is None:
            self._worst = list(stats)
        else:
            self._worst = [np.maximum(a, b) for a, b in zip(self._worst, stats, strict=True)]
        self.seen += 1

    def box(self) -> BorderBox | None:
        if self._worst is None:
            return None
        a, b, c, d = self._worst
        return _box_from_stats((a, b, c, d), self.policy)


@dataclass(frozen=True, slots=True)
class VideoVariants:
    """A video's vPDQ (``hash``, exactly :func:`hash_video`'s) and its query variants:
    variant name -> frame features (``original`` first, the same frames as ``hash``).
    ``border`` is the dark border the trimmed variants cut off, if any."""

    hash: VideoHash
    variants: Mapping[str, tuple[VpdqFrame, ...]]
    border: BorderBox | None = None


def _phase_offsets(every: int, phases: int) -> dict[int, str]:
    """Frame offset within a step -> phase name, for the extra grids (offset 0 excluded)."""
    out: dict[int, str] = {}
    for k in range(1, phases):
        offset = round(k * every / phases)
        if 0 < offset < every and offset not in out:
            g = math.gcd(k, phases)
            out[offset] = f"phase{k // g}/{phases // g}"
    return out


def _named(prefix: str, hashes: Mapping[str, HashValue], dihedral: bool) -> dict[str, HashValue]:
    """Variant names for one frame's dihedral hashes under ``prefix`` (``""`` for the
    grid frames, whose ``original`` is the vPDQ frame itself and is left out)."""
    out: dict[str, HashValue] = {}
    for name in DIHEDRAL_NAMES if dihedral else (ORIGINAL,):
        if not prefix:
            if name != ORIGINAL:
                out[name] = hashes[name]
        else:
            out[prefix if name == ORIGINAL else f"{prefix}+{name}"] = hashes[name]
    return out


class _Collector:
    """The variant frames being gathered, and the dark border being decided."""

    def __init__(self, policy: VideoVariantPolicy, fps: float) -> None:
        self.policy = policy
        self.fps = fps
        self.extra: dict[str, list[VpdqFrame]] = {}
        self.tracker = _BorderTracker(policy.border)
        # (phase, frame number, luma) of the frames seen before the border is decided.
        self.pending: list[tuple[str, int, npt.NDArray[np.uint8]]] = []
        self.limit_pending = policy.border.decide_frames * policy.phases
        self.box: BorderBox | None = None
        self.decided = not policy.trim

    def add(self, prefix: str, number: int, hashes: Mapping[str, HashValue], quality: int) -> None:
        stamp = timestamp(number, self.fps)
        for name, value in _named(prefix, hashes, self.policy.dihedral).items():
            self.extra.setdefault(name, []).append(VpdqFrame(number, quality, value, stamp))

    def mirrored(self, prefix: str, number: int, luma: F32) -> None:
        """The PDQ of ``luma`` mirrored left-right, as variant ``prefix+mirrored``."""
        hashes, quality = pdq_dihedral_fast_with_quality(luma[:, ::-1])
        name = f"{prefix}+{MIRRORED}" if prefix else MIRRORED
        stamp = timestamp(number, self.fps)
        self.extra.setdefault(name, []).append(VpdqFrame(number, quality, hashes[ORIGINAL], stamp))

    def _trimmed(self, phase: str, number: int, luma: F32, box: BorderBox) -> None:
        cropped = box.crop(luma)
        hashes, quality = pdq_dihedral_fast_with_quality(cropped)
        if quality >= LOW_QUALITY:
            prefix = TRIMMED + (f"+{phase}" if phase else "")
            self.add(prefix, number, hashes, quality)
            if self.policy.mirror:
                self.mirrored(prefix, number, cropped)

    @property
    def trimming(self) -> bool:
        """Whether frames still need looking at for the trimmed variants (once decided
        that there is no border, more frames can only confirm it)."""
        return self.policy.trim and not (self.decided and self.box is None)

    def frame(self, phase: str, number: int, luma: F32, quality: int) -> None:
        """A hashed frame (grid: ``phase`` ``""``), for the trimmed variants."""
        if not self.trimming or quality < LOW_QUALITY:
            return
        if not phase:
            self.tracker.add(luma)
        if self.decided:
            if self.box is not None:
                self._trimmed(phase, number, luma, self.box)
            return
        if len(self.pending) < self.limit_pending:
            # Held as bytes (a quarter of float32: a 4K frame is 9.4 MB) until decided.
            kept = np.clip(np.rint(luma), 0, 255).astype(np.uint8)
            self.pending.append((phase, number, kept))
        if self.tracker.seen >= self.policy.border.decide_frames:
            self._decide()

    def _decide(self) -> None:
        self.decided = True
        self.box = box = self.tracker.box()
        if box is not None:
            for phase, number, luma in self.pending:
                self._trimmed(phase, number, luma.astype(np.float32), box)
        self.pending.clear()

    def finish(self) -> None:
        if not self.decided:  # a short video: decide on what there was
            self._decide()
        if self.box is not None and self.tracker.box() != self.box:
            self.box = None  # later frames disagree: not a border of the whole video
            for name in [n for n in self.extra if n.startswith(TRIMMED)]:
                del self.extra[name]


def hash_video_variants(
    data: bytes,
    policy: VideoVariantPolicy = DEVICE_VIDEO_VARIANTS,
    *,
    limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
    seconds_per_hash: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
) -> VideoVariants:
    """:func:`hash_video` and the query variants ``policy`` asks for, in one decoding pass.

    Raises:
        as :func:`hashes.video.hash_video`.
    """
    check_seconds_per_hash(seconds_per_hash)
    opened = open_video(data, limits)
    frames: list[VpdqFrame] = []
    try:
        info = opened.info
        every = frame_interval(info.fps, seconds_per_hash)
        offsets = _phase_offsets(every, policy.phases)
        collect = _Collector(policy, info.fps)
        last_time: float | None = None
        for decoded in decode_frames(opened, limits, clock=clock):
            if decoded.time_s is not None:
                last_time = decoded.time_s
            offset = decoded.number % every
            if offset == 0:
                rgb = decoded.rgb(info.width, info.height)
                # The exact PDQ: "original" is pdq_hash's, bit for bit (vpdq's frame).
                hashes, quality = pdq_dihedral_with_quality(rgb)
                stamp = timestamp(decoded.number, info.fps)
                frames.append(VpdqFrame(decoded.number, quality, hashes[ORIGINAL], stamp))
                collect.add("", decoded.number, hashes, quality)
                if policy.mirror or (collect.trimming and quality >= LOW_QUALITY):
                    luma = pdq_luma(rgb)
                    if policy.mirror:
                        collect.mirrored("", decoded.number, luma)
                    collect.frame("", decoded.number, luma, quality)
            elif offset in offsets:
                luma = pdq_luma(decoded.rgb(info.width, info.height))
                hashes, quality = pdq_dihedral_fast_with_quality(luma)
                collect.add(offsets[offset], decoded.number, hashes, quality)
                if policy.mirror:
                    collect.mirrored(offsets[offset], decoded.number, luma)
                collect.frame(offsets[offset], decoded.number, luma, quality)
        collect.finish()
    finally:
        opened.close()
    video = assemble(data, info, frames, last_time)
    variants: dict[str, tuple[VpdqFrame, ...]] = {ORIGINAL: video.frames}
    for name in sorted(collect.extra, key=_order):
        variants[name] = tuple(collect.extra[name])
    return VideoVariants(video, MappingProxyType(variants), collect.box)


def _order(name: str) -> tuple[bool, bool, bool, str]:
    return (name.startswith(TRIMMED), "phase" in name, MIRRORED in name, name)


@dataclass(frozen=True, slots=True)
class VideoVariantMatch:
    """The best variant of a query against one target: its name and :class:`VideoMatch`."""

    variant: str
    match: VideoMatch


def match_video_variants(
    query: VideoVariants,
    target: VideoHash,
    *,
    distance_threshold: int = DEFAULT_DISTANCE_THRESHOLD,
    quality_threshold: int = DEFAULT_QUALITY_THRESHOLD,
    query_match_percent: float = DEFAULT_QUERY_MATCH_PERCENT,
    compared_match_percent: float = DEFAULT_COMPARED_MATCH_PERCENT,
) -> VideoVariantMatch:
    """:func:`match_video` of every variant of ``query`` against ``target``: the first
    that matches (``original`` first, then the order of ``query.variants``), else the
    ``original``'s result.

    Raises:
        ValueError: as :func:`match_video`.
    """
    best: VideoVariantMatch | None = None
    for name, frames in query.variants.items():
        result = match_video(
            VideoHash(frames),
            target,
            distance_threshold=distance_threshold,
            quality_threshold=quality_threshold,
            query_match_percent=query_match_percent,
            compared_match_percent=compared_match_percent,
        )
        if best is None:
            best = VideoVariantMatch(name, result)
        if result.matched:
            return VideoVariantMatch(name, result)
    assert best is not None  # "original" is always there
    return best
