"""PDQ, Meta's 256-bit perceptual image hash, on numpy alone.

Reference: ThreatExchange ``pdq/cpp`` (``hashing/pdqhashing.cpp``,
``downscaling/downscaling.cpp``) and the algorithm write-up ``pdqhash-2017-10-09.pdf``.
The steps, each reproduced here in the reference's own float32 arithmetic so that the
same pixels give the same bits:

1. luminance ``Y = 0.299 R + 0.587 G + 0.114 B`` (computed in float64 and rounded to
   float32, as the ``pdqhash`` binding that produced our vectors does);
2. a Jarosz tent filter: two passes of a 1-D box filter along rows then columns, with
   window ``ceil(dimension / 128)``; running sums in float32, divided by the count of
   samples in the window at the edges;
3. decimation to 64x64 at the centres ``floor((i + 0.5) * dimension / 64)``;
4. quality: the sum of ``trunc(100 * |difference| / 255)`` over neighbouring pixels of
   the 64x64 image, divided by 90 and capped at 100;
5. a 2-D DCT-II restricted to the 16x16 coefficients ``1..16`` in each direction (the
   DC row and column are dropped), as ``D A D^T`` with ``D`` the 16x64 DCT matrix;
6. one bit per coefficient: greater than the median (the 128th smallest of the 256).

Bit ``k = 16 i + j`` (coefficient row ``i``, column ``j``) is bit ``k`` of a 256-bit
number whose big-endian bytes are the digest, so the hex text is the same as the
reference's ``toString()``.

:func:`pdq_hash` is the exact, conformant path. :func:`pdq_hash_fast` computes the same
mathematics as two matrix products (the filter and decimation folded into a cached
64 x n matrix per side) in a different rounding order, and can fold the full-resolution
filter onto a reduced (JPEG draft) decode; it is what the fast path of
:func:`hashes.compute.hash_image` uses. Both are pure functions of their inputs.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Final

import numpy as np
import numpy.typing as npt

from hashes.errors import HashFormatError
from hashes.values import Algorithm, HashValue

__all__ = [
    "DIHEDRAL_NAMES",
    "LOW_QUALITY",
    "MIN_DIMENSION",
    "pdq_dihedral",
    "pdq_dihedral_fast",
    "pdq_dihedral_fast_with_quality",
    "pdq_dihedral_with_quality",
    "pdq_hash",
    "pdq_hash_fast",
    "pdq_luma",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

LOW_QUALITY: Final = 50
"""Quality below this is flagged as low quality (ThreatExchange's recommended cut-off)."""

MIN_DIMENSION: Final = 5
"""Images narrower or shorter than this hash to all zeros with quality 0, as upstream."""

DIHEDRAL_NAMES: Final = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)
"""Names of the eight dihedral variants, in the reference's order."""

_SIDE: Final = 64
_NUM_PASSES: Final = 2


@lru_cache(maxsize=1)
def _dct_matrix() -> F32:
    """The 16x64 DCT matrix, rounded as the reference rounds it (float32 scale factor)."""
    scale = float(np.float32(math.sqrt(2.0 / 64.0)))
    rows = np.empty((16, 64), dtype=np.float32)
    for i in range(16):
        for j in range(64):
            rows[i, j] = np.float32(
                scale * math.cos((math.pi / 2.0 / 64.0) * (i + 1) * (2 * j + 1))
            )
    rows.setflags(write=False)
    return rows


def _window(dimension: int) -> int:
    """Jarosz box-window length along a side of ``dimension`` pixels, for a 64 output."""
    return (dimension + 2 * _SIDE - 1) // (2 * _SIDE)


def _centres(dimension: int) -> list[int]:
    """Indices sampled by decimation to 64: pixel centres, computed in double precision."""
    return [int(((i + 0.5) * dimension) / _SIDE) for i in range(_SIDE)]


def _check_pixels(pixels: npt.NDArray[np.generic]) -> None:
    if not isinstance(pixels, np.ndarray):
        raise HashFormatError("pixels must be a numpy array")
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise HashFormatError(
            f"pixels must be an H x W x 3 uint8 array, got shape {pixels.shape} {pixels.dtype}"
        )


def pdq_luma(pixels_rgb: npt.NDArray[np.uint8]) -> F32:
    """Luminance of an ``H x W x 3`` uint8 RGB array as float32 (step 1).

    Raises:
        HashFormatError: ``pixels_rgb`` is not an ``H x W x 3`` uint8 array.
    """
    _check_pixels(pixels_rgb)
    r = pixels_rgb[:, :, 0] * 0.299
    r += pixels_rgb[:, :, 1] * 0.587
    r += pixels_rgb[:, :, 2] * 0.114
    return r.astype(np.float32)


def _box_along_axis0(x: F32, window: int) -> F32:
    """One 1-D box-filter pass down axis 0 of ``x``, for every column at once.

    Mirrors the reference's running sum exactly: the window is centred (``(window+2)//2``
    samples reach forward), sums are float32 and are divided by the number of samples
    actually in the window, so edges average fewer samples.
    """
    length = x.shape[0]
    half = (window + 2) // 2
    out = np.empty_like(x)
    total = np.zeros(x.shape[1:], dtype=np.float32)
    count = 0
    right = 0
    left = 0
    written = 0
    for _ in range(half - 1):
        np.add(total, x[right], out=total)
        right += 1
        count += 1
    for _ in range(window - half + 1):
        np.add(total, x[right], out=total)
        right += 1
        count += 1
        np.divide(total, np.float32(count), out=out[written])
        written += 1
    divisor = np.float32(count)
    for _ in range(length - window):
        np.add(total, x[right], out=total)
        np.subtract(total, x[left], out=total)
        np.divide(total, divisor, out=out[written])
        right += 1
        left += 1
        written += 1
    for _ in range(half - 1):
        np.subtract(total, x[left], out=total)
        count -= 1
        np.divide(total, np.float32(count), out=out[written])
        left += 1
        written += 1
    return out


def _downsample_exact(luma: F32) -> F32:
    """Steps 2-3 in the reference's float32 order: tent filter, then decimate to 64x64."""
    rows, cols = luma.shape
    if rows == _SIDE and cols == _SIDE:
        return luma.copy()
    along_rows = _window(cols)
    along_cols = _window(rows)
    # Work with the filtered axis first so that each step touches a contiguous row.
    across = np.ascontiguousarray(luma.T)  # (cols, rows)
    across = _box_along_axis0(across, along_rows)
    down = _box_along_axis0(np.ascontiguousarray(across.T), along_cols)  # (rows, cols)
    across = _box_along_axis0(np.ascontiguousarray(down.T), along_rows)
    # The last pass only matters for the 64 columns that decimation keeps.
    kept = np.ascontiguousarray(across[_centres(cols)].T)  # (rows, 64)
    down = _box_along_axis0(kept, along_cols)
    return np.ascontiguousarray(down[_centres(rows)])


def _quality(block: npt.NDArray[np.floating]) -> int:
    """Step 4: the gradient-sum quality metric of a 64x64 block, 0..100."""
    b = block.astype(np.float32, copy=False)
    hundred = np.float32(100.0)
    denominator = np.float32(255.0)
    vertical = np.trunc(((b[:-1, :] - b[1:, :]) * hundred) / denominator)
    horizontal = np.trunc(((b[:, :-1] - b[:, 1:]) * hundred) / denominator)
    gradient_sum = int(np.abs(vertical).sum(dtype=np.int64)) + int(
        np.abs(horizontal).sum(dtype=np.int64)
    )
    return min(gradient_sum // 90, 100)


def _dct_exact(block: F32) -> F32:
    """Step 5 with the reference's sequential float32 sums: ``D A D^T`` (16x16)."""
    d = _dct_matrix()
    partial = np.zeros((16, _SIDE), dtype=np.float32)
    for k in range(_SIDE):
        partial += d[:, k, None] * block[None, k, :]
    out = np.zeros((16, 16), dtype=np.float32)
    for k in range(_SIDE):
        out += partial[:, k, None] * d[None, :, k]
    return out


def _bits(coefficients: npt.NDArray[np.floating]) -> HashValue:
    """Step 6: one bit per coefficient above the median, packed big-endian."""
    flat = coefficients.reshape(256)
    median = np.partition(flat, 127)[127]
    above = flat > median
    return HashValue(Algorithm.PDQ, np.packbits(above[::-1]).tobytes())


def _empty() -> HashValue:
    return HashValue(Algorithm.PDQ, bytes(32))


def _exact_coefficients(pixels_rgb: npt.NDArray[np.uint8]) -> tuple[F32, int] | None:
    luma = pdq_luma(pixels_rgb)
    if min(luma.shape) < MIN_DIMENSION:
        return None
    block = _downsample_exact(luma)
    return _dct_exact(block), _quality(block)


def pdq_hash(pixels_rgb: npt.NDArray[np.uint8]) -> tuple[HashValue, int]:
    """PDQ hash and quality (0..100) of an ``H x W x 3`` uint8 RGB array, bit-exact.

    Gives the same bits as ThreatExchange's C++ reference fed the same pixels. Images
    smaller than :data:`MIN_DIMENSION` on a side hash to all zeros with quality 0, as
    upstream. Quality below :data:`LOW_QUALITY` means the hash is unreliable (flat or
    tiny images).

    Raises:
        HashFormatError: ``pixels_rgb`` is not an ``H x W x 3`` uint8 array.
    """
    result = _exact_coefficients(pixels_rgb)
    if result is None:
        return _empty(), 0
    coefficients, quality = result
    return _bits(coefficients), quality


def _dihedral_coefficients(c: npt.NDArray[np.floating]) -> tuple[npt.NDArray[np.floating], ...]:
    """The DCT coefficients of the seven other rotations and flips, from the original's.

    Rotating or flipping the image only transposes the coefficient block and negates odd
    frequencies along a flipped axis; see ``dct16OriginalTo*`` in the reference.
    """
    odd = np.arange(16) % 2 == 1
    sign = np.where(odd, 1.0, -1.0).astype(c.dtype)
    checker = np.where(np.add.outer(np.arange(16), np.arange(16)) % 2 == 1, -1.0, 1.0).astype(
        c.dtype
    )
    return (
        c,
        (c * sign[None, :]).T,
        c * checker,
        (c * sign[:, None]).T,
        c * sign[:, None],
        c * sign[None, :],
        c.T,
        (c * checker).T,
    )


def pdq_dihedral(pixels_rgb: npt.NDArray[np.uint8]) -> dict[str, HashValue]:
    """The PDQ hashes of the image in all eight rotations and flips, bit-exact.

    Keys are :data:`DIHEDRAL_NAMES`; ``"original"`` equals :func:`pdq_hash`. The variant
    named ``rotate90`` is the hash the reference gives the image rotated by 90 degrees,
    computed from the same DCT without re-hashing. Match a query against a list by
    comparing every variant to find mirrored or rotated copies.

    Raises:
        HashFormatError: ``pixels_rgb`` is not an ``H x W x 3`` uint8 array.
    """
    return pdq_dihedral_with_quality(pixels_rgb)[0]


def pdq_dihedral_with_quality(
    pixels_rgb: npt.NDArray[np.uint8],
) -> tuple[dict[str, HashValue], int]:
    """:func:`pdq_dihedral` and the quality (0..100), in one pass.

    Raises:
        HashFormatError: ``pixels_rgb`` is not an ``H x W x 3`` uint8 array.
    """
    return _variants(_exact_coefficients(pixels_rgb))


def _variants(result: tuple[F32, int] | None) -> tuple[dict[str, HashValue], int]:
    if result is None:
        return dict.fromkeys(DIHEDRAL_NAMES, _empty()), 0
    coefficients, quality = result
    variants = _dihedral_coefficients(coefficients)
    return {name: _bits(v) for name, v in zip(DIHEDRAL_NAMES, variants, strict=True)}, quality


def _tent_rows(dimension: int) -> F64:
    """The 64 x ``dimension`` matrix of two box passes then decimation along one side.

    Row ``i`` holds the weights with which decimated sample ``i`` averages the input: a
    box of the reference's window around the sample centre, convolved with itself
    (computed from the box's support, not by multiplying ``dimension``-square matrices).
    """
    window = _window(dimension)
    half = (window + 2) // 2
    back, forward = window - half, half - 1

    def span(centre: int) -> tuple[int, int]:
        return max(centre - back, 0), min(centre + forward, dimension - 1)

    rows = np.zeros((_SIDE, dimension), dtype=np.float64)
    for i, centre in enumerate(_centres(dimension)):
        low, high = span(centre)
        outer = 1.0 / (high - low + 1)
        for k in range(low, high + 1):
            a, b = span(k)
            rows[i, a : b + 1] += outer / (b - a + 1)
    return rows


@lru_cache(maxsize=64)
def _tent_band(dimension: int, reduced: int) -> tuple[tuple[int, F32], ...]:
    """:func:`_tent_rows` for a side of ``dimension`` pixels, seen through a reduced decode
    of ``reduced`` pixels, as 64 bands ``(first index, weights)``.

    Each reduced pixel stands for the block of full pixels it covers (what JPEG DCT
    scaling approximates). A tent covers about 1/32 of the side, so storing only the
    non-zero band makes the filter cost O(pixels) rather than O(64 x pixels), and keeps
    every product small enough that BLAS never starts threads for it.
    """
    rows = _tent_rows(dimension)
    if reduced != dimension:
        owner = np.minimum((np.arange(dimension) * reduced) // dimension, reduced - 1)
        starts = np.searchsorted(owner, np.arange(reduced))
        rows = np.add.reduceat(rows, starts, axis=1)
    bands = []
    for row in rows:
        nonzero = np.flatnonzero(row)
        first, last = int(nonzero[0]), int(nonzero[-1])
        weights = row[first : last + 1].astype(np.float32)
        weights.setflags(write=False)
        bands.append((first, weights))
    return tuple(bands)


def _apply_tent(values: F32, full_rows: int, full_cols: int) -> F32:
    """Filter and decimate ``values`` to 64x64 with the (folded) reference tent."""
    rows, cols = values.shape
    partial = np.empty((_SIDE, cols), dtype=np.float32)
    for i, (first, weights) in enumerate(_tent_band(full_rows, rows)):
        partial[i] = weights @ values[first : first + weights.shape[0]]
    block = np.empty((_SIDE, _SIDE), dtype=np.float32)
    for j, (first, weights) in enumerate(_tent_band(full_cols, cols)):
        block[:, j] = partial[:, first : first + weights.shape[0]] @ weights
    return block


def pdq_hash_fast(
    luma: npt.NDArray[np.floating], *, full_size: tuple[int, int] | None = None
) -> tuple[HashValue, int]:
    """PDQ of a float luminance array by matrix products: close to, not bit-equal with,
    the reference.

    ``luma`` is ``H x W`` with values 0..255 (for example Pillow's ``convert("F")`` of an
    RGB image, which uses the same 0.299/0.587/0.114 weights). When ``luma`` is a reduced
    decode (JPEG draft mode) of a picture whose full size is ``full_size`` =
    ``(height, width)``, the tent filter is the one the reference would apply at full
    size, folded onto the reduced pixels: the hash approximates the full-resolution
    reference rather than the hash of a smaller picture. The filter and decimation are
    one cached band of weights per output row and column, so the cost is linear in the
    pixels.

    Raises:
        HashFormatError: ``luma`` is not a 2-D array, or ``full_size`` is smaller than it.
    """
    result = _fast_coefficients(luma, full_size)
    if result is None:
        return _empty(), 0
    coefficients, quality = result
    return _bits(coefficients), quality


def pdq_dihedral_fast(
    luma: npt.NDArray[np.floating], *, full_size: tuple[int, int] | None = None
) -> dict[str, HashValue]:
    """:func:`pdq_dihedral` on the fast path: the eight variants from :func:`pdq_hash_fast`'s
    coefficients (``"original"`` equals :func:`pdq_hash_fast`).

    Raises:
        HashFormatError: ``luma`` is not a 2-D array, or ``full_size`` is smaller than it.
    """
    return pdq_dihedral_fast_with_quality(luma, full_size=full_size)[0]


def pdq_dihedral_fast_with_quality(
    luma: npt.NDArray[np.floating], *, full_size: tuple[int, int] | None = None
) -> tuple[dict[str, HashValue], int]:
    """:func:`pdq_dihedral_fast` and the quality (0..100), in one pass.

    Raises:
        HashFormatError: ``luma`` is not a 2-D array, or ``full_size`` is smaller than it.
    """
    return _variants(_fast_coefficients(luma, full_size))


def _fast_coefficients(
    luma: npt.NDArray[np.floating], full_size: tuple[int, int] | None
) -> tuple[F32, int] | None:
    if not isinstance(luma, np.ndarray) or luma.ndim != 2:
        raise HashFormatError("luma must be a 2-D numpy array")
    rows, cols = luma.shape
    full_rows, full_cols = full_size if full_size is not None else (rows, cols)
    if full_rows < rows or full_cols < cols:
        raise HashFormatError(f"full size {full_size} is smaller than the array {luma.shape}")
    if min(full_rows, full_cols, rows, cols) < MIN_DIMENSION:
        return None
    values = np.ascontiguousarray(luma, dtype=np.float32)
    block: F32 = values
    if (rows, cols, full_rows, full_cols) != (_SIDE, _SIDE, _SIDE, _SIDE):
        block = _apply_tent(values, full_rows, full_cols)
    d = _dct_matrix()
    coefficients = np.asarray(d @ block @ d.T, dtype=np.float32)
    return coefficients, _quality(block)
