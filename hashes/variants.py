"""Query variants: the hashes of an image as it may have looked before a simple edit.

People mirror, rotate and letterbox pictures before they forward them. A list holds the
hash of the original only, so the device hashes the *query* in the shapes it may have had
and a match on any of them counts (:meth:`hashes.matching.Matcher.match_variants` keeps,
per list entry, the nearest variant and names it in ``Match.variant``):

- the eight dihedral variants (:data:`hashes.pdq.DIHEDRAL_NAMES`: ``original``,
  ``rotate90`` ... ``flip_minus1``). For PDQ they cost nothing more than one hash (they
  are read off the same DCT); pHash and dHash are recomputed on the transposed picture.
- the picture with its flat border trimmed (``trimmed``), and that picture's dihedral
  variants (``trimmed+rotate90``, ...), when :func:`flat_border` finds a border.

A variant's name says what was done to the *query* to make it match: a copy rotated by
90 degrees clockwise matches through ``rotate90`` (rotating it back counter-clockwise).

"Flat" (:func:`flat_border`): a run of whole rows (or columns) at one edge, every pixel
of which lies within :attr:`TrimPolicy.tolerance` luma levels of one colour, the median
of the outermost row (or column). Borders thinner than :attr:`TrimPolicy.min_border` of
the side are ignored (JPEG edges, a one-pixel frame), and an axis is left alone when
trimming would keep less than :attr:`TrimPolicy.min_remaining` of it (a uniform picture,
or a picture that is mostly sky of one value). A trimmed variant whose PDQ quality is
below :data:`hashes.pdq.LOW_QUALITY` is dropped: it would be a hash of nearly nothing.
Pictures with no flat border get no trimmed variant, so their hashes are exactly those
of :func:`hashes.compute.hash_decoded`.

Pure: a decoded picture in, hash values out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import imagehash
import numpy as np
import numpy.typing as npt
from PIL import Image

from hashes.decode import DecodedImage
from hashes.errors import HashFormatError
from hashes.pdq import (
    DIHEDRAL_NAMES,
    LOW_QUALITY,
    pdq_dihedral_fast_with_quality,
    pdq_dihedral_with_quality,
)
from hashes.values import Algorithm, HashValue

__all__ = [
    "DEFAULT_TRIM",
    "ORIGINAL",
    "TRIMMED",
    "TrimBox",
    "TrimPolicy",
    "Variants",
    "flat_border",
    "variant_hashes",
]

ORIGINAL: Final = "original"
TRIMMED: Final = "trimmed"

Variants = Mapping[str, Mapping[Algorithm, HashValue]]
"""Variant name -> the hashes of the query in that shape; ``original`` comes first."""

# PIL's transpose for each of PDQ's dihedral names (checked against pdq_hash of the
# transposed pixels in tests/hashes/test_variants.py).
_TRANSPOSE: Final = {
    "rotate90": Image.Transpose.ROTATE_90,
    "rotate180": Image.Transpose.ROTATE_180,
    "rotate270": Image.Transpose.ROTATE_270,
    "flipx": Image.Transpose.FLIP_TOP_BOTTOM,
    "flipy": Image.Transpose.FLIP_LEFT_RIGHT,
    "flip_plus1": Image.Transpose.TRANSPOSE,
    "flip_minus1": Image.Transpose.TRANSVERSE,
}


@dataclass(frozen=True, slots=True)
class TrimPolicy:
    """What counts as a flat border (see the module docstring).

    ``tolerance`` is in luma levels (0..255); ``min_border`` and ``min_remaining`` are
    shares of the side; ``min_pixels`` is the least the trimmed picture may keep on a side.

    Raises (on construction):
        HashFormatError: a value outside its range.
    """

    tolerance: float = 8.0
    min_border: float = 0.02
    min_remaining: float = 0.2
    min_pixels: int = 16

    def __post_init__(self) -> None:
        if not 0 <= self.tolerance <= 255:
            raise HashFormatError("trim tolerance must lie in 0..255")
        if not 0 < self.min_border < 1 or not 0 < self.min_remaining <= 1:
            raise HashFormatError("trim shares must lie in (0, 1)")
        if self.min_pixels < 1:
            raise HashFormatError("min_pixels must be at least 1")


DEFAULT_TRIM: Final = TrimPolicy()


@dataclass(frozen=True, slots=True)
class TrimBox:
    """Rows and columns to cut from each edge (all >= 0, at least one > 0)."""

    top: int
    bottom: int
    left: int
    right: int

    def crop(self, height: int, width: int) -> tuple[int, int, int, int]:
        """``(left, upper, right, lower)`` as Pillow's ``crop`` takes it."""
        return (self.left, self.top, width - self.right, height - self.bottom)


def _run(deviation: npt.NDArray[np.floating], tolerance: float) -> int:
    """How many leading lines have a deviation within ``tolerance``."""
    outside = np.flatnonzero(deviation > tolerance)
    return int(outside[0]) if outside.size else int(deviation.shape[0])


def _edge(lines: npt.NDArray[np.floating], tolerance: float) -> int:
    """Flat lines at the start of ``lines`` (axis 0 runs from the edge inwards)."""
    reference = float(np.median(lines[0]))
    deviation = np.abs(lines - np.float32(reference)).max(axis=1)
    return _run(deviation, tolerance)


def _axis(start: int, end: int, side: int, policy: TrimPolicy) -> tuple[int, int]:
    """Apply the thinness and remaining-share rules to one axis's two runs."""
    minimum = max(1, int(np.ceil(policy.min_border * side)))
    start = start if start >= minimum else 0
    end = end if end >= minimum else 0
    remaining = side - start - end
    if remaining < max(policy.min_remaining * side, policy.min_pixels):
        return 0, 0
    return start, end


def flat_border(
    luma: npt.NDArray[np.floating], policy: TrimPolicy = DEFAULT_TRIM
) -> TrimBox | None:
    """The flat border of a picture given as an ``H x W`` luma array, or None.

    Raises:
        HashFormatError: ``luma`` is not a 2-D array.
    """
    if not isinstance(luma, np.ndarray) or luma.ndim != 2:
        raise HashFormatError("luma must be a 2-D numpy array")
    rows, cols = luma.shape
    if min(rows, cols) < 2 * policy.min_pixels:
        return None
    values = np.asarray(luma, dtype=np.float32)
    tol = policy.tolerance
    top, bottom = _axis(_edge(values, tol), _edge(values[::-1], tol), rows, policy)
    left, right = _axis(_edge(values.T, tol), _edge(values.T[::-1], tol), cols, policy)
    if top == bottom == left == right == 0:
        return None
    return TrimBox(top=top, bottom=bottom, left=left, right=right)


def _imagehash(algorithm: Algorithm, grey: Image.Image) -> HashValue:
    function = imagehash.phash if algorithm is Algorithm.PHASH else imagehash.dhash
    return HashValue.from_hex(algorithm, str(function(grey)))


def _shape_hashes(
    image: Image.Image,
    full_size: tuple[int, int],
    algorithms: Sequence[Algorithm],
    *,
    fast: bool,
    pdq: tuple[Mapping[str, HashValue], int] | None = None,
) -> tuple[dict[str, dict[Algorithm, HashValue]], int | None]:
    """The dihedral variants of every perceptual algorithm for one picture."""
    out: dict[str, dict[Algorithm, HashValue]] = {name: {} for name in DIHEDRAL_NAMES}
    quality: int | None = None
    grey: Image.Image | None = None
    for algorithm in algorithms:
        if algorithm is Algorithm.PDQ:
            if pdq is None:
                if fast:
                    luma = np.asarray(image.convert("F"))
                    pdq = pdq_dihedral_fast_with_quality(luma, full_size=full_size)
                else:
                    pdq = pdq_dihedral_with_quality(np.array(image, dtype=np.uint8))
            variants, quality = pdq
            for name in DIHEDRAL_NAMES:
                out[name][algorithm] = variants[name]
        elif algorithm in (Algorithm.PHASH, Algorithm.DHASH):
            if grey is None:
                grey = image.convert("L")
            out[ORIGINAL][algorithm] = _imagehash(algorithm, grey)
            for name, op in _TRANSPOSE.items():
                out[name][algorithm] = _imagehash(algorithm, grey.transpose(op))
    return out, quality


def variant_hashes(
    decoded: DecodedImage,
    algorithms: Sequence[Algorithm],
    *,
    fast: bool = True,
    trim: TrimPolicy | None = DEFAULT_TRIM,
    pdq: tuple[Mapping[str, HashValue], int] | None = None,
) -> Variants:
    """Every variant of ``decoded`` for the perceptual ``algorithms`` (others are ignored).

    ``pdq`` may pass in PDQ's dihedral variants and quality of the whole picture when the
    caller already has them (as :func:`hashes.compute.hash_decoded` does), so they are not
    computed twice. ``trim=None`` leaves out the trimmed variants. On the fast path the
    border is found on the reduced (draft) picture and the trimmed part is hashed with
    the tent filter of its full-resolution size.

    Raises:
        HashFormatError: an algorithm is not an :class:`~hashes.values.Algorithm`.
    """
    chosen = [a for a in algorithms if _perceptual(a)]
    if not chosen:
        return MappingProxyType({})
    image = decoded.image
    full = (decoded.source_height, decoded.source_width)
    shapes, _ = _shape_hashes(image, full, chosen, fast=fast, pdq=pdq)
    result: dict[str, Mapping[Algorithm, HashValue]] = {
        name: MappingProxyType(hashes) for name, hashes in shapes.items()
    }
    box = None
    if trim is not None:
        box = flat_border(np.asarray(image.convert("F")), trim)
    if box is not None:
        height, width = image.height, image.width
        cropped = image.crop(box.crop(height, width))
        scale_h, scale_w = decoded.source_height / height, decoded.source_width / width
        cropped_full = (
            max(cropped.height, round(cropped.height * scale_h)),
            max(cropped.width, round(cropped.width * scale_w)),
        )
        trimmed, quality = _shape_hashes(cropped, cropped_full, chosen, fast=fast)
        if quality is None or quality >= LOW_QUALITY:
            for name, hashes in trimmed.items():
                label = TRIMMED if name == ORIGINAL else f"{TRIMMED}+{name}"
                result[label] = MappingProxyType(hashes)
    return MappingProxyType(result)


def _perceptual(algorithm: Algorithm) -> bool:
    if not isinstance(algorithm, Algorithm):
        raise HashFormatError(f"not a hash algorithm: {algorithm!r}")
    return algorithm.perceptual
