"""One call that decodes an image once and computes every requested hash.

>>> from hashes.compute import hash_image
>>> result = hash_image(jpeg_bytes)                        # doctest: +SKIP
>>> result.hashes[Algorithm.PDQ].to_text()                 # doctest: +SKIP
'pdq:f8f8f0cee0f4a84f...'

Two paths:

- ``fast=True`` (the default, for devices): a JPEG is decoded by libjpeg's DCT scaling to
  at least :data:`FAST_DRAFT_SIZE` (1/2 to 1/8 of its pixels); PDQ folds the tent filter
  the reference would apply at full resolution onto those reduced pixels
  (:func:`hashes.pdq.pdq_hash_fast`), so the hash approximates the full-resolution
  reference whatever the scale libjpeg chose; pHash and dHash run on the reduced picture.
  ``docs/hashing.md`` publishes the drift from the reference (``benchmarks/hashing.py``).
- ``fast=False``: full decode, bit-exact PDQ (:func:`hashes.pdq.pdq_hash`), pHash and
  dHash equal to imagehash on the full picture.

SHA-256 and MD5 are always of the original bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import imagehash
import numpy as np

from hashes.decode import DEFAULT_LIMITS, DecodedImage, DecodeLimits, decode_image
from hashes.errors import HashFormatError
from hashes.pdq import (
    LOW_QUALITY,
    pdq_dihedral_fast_with_quality,
    pdq_dihedral_with_quality,
    pdq_hash,
    pdq_hash_fast,
)
from hashes.values import Algorithm, HashValue
from hashes.variants import Variants, variant_hashes

__all__ = [
    "DEFAULT_ALGORITHMS",
    "FAST_DRAFT_SIZE",
    "HASH_BYTES_PER_PIXEL",
    "HashResult",
    "hash_decoded",
    "hash_image",
]

DEFAULT_ALGORITHMS: Final = (
    Algorithm.PDQ,
    Algorithm.PHASH,
    Algorithm.DHASH,
    Algorithm.SHA256,
    Algorithm.MD5,
)

FAST_DRAFT_SIZE: Final = (256, 256)
"""The fast path asks libjpeg for at least this many pixels on each side."""

HASH_BYTES_PER_PIXEL: Final = {True: 13, False: 25}
"""Bytes per decoded pixel that hashing allocates on top of the RGB picture, by ``fast``
(measured peaks: 12 and 23.3), counted in the decode's memory budget."""


@dataclass(frozen=True, slots=True)
class HashResult:
    """The hashes of one image and what was learnt decoding it.

    ``width``, ``height`` are the full-resolution size after EXIF orientation; ``format``
    is Pillow's format name. ``pdq_quality`` is ``None`` when PDQ was not asked for;
    ``low_quality`` is true when it is below 50 (flat or tiny pictures whose PDQ should
    not be matched on). ``pdq_dihedral`` holds the eight PDQ variants (keys
    :data:`hashes.pdq.DIHEDRAL_NAMES`) when asked for with ``dihedral=True``.
    ``variants`` holds every query variant of the perceptual hashes (dihedral and
    border-trimmed, :func:`hashes.variants.variant_hashes`) when asked for with
    ``variants=True``; :meth:`hashes.matching.Matcher.match_variants` matches them.
    """

    hashes: Mapping[Algorithm, HashValue]
    pdq_quality: int | None
    low_quality: bool
    width: int
    height: int
    format: str
    frames: int = 1
    fast: bool = True
    pdq_dihedral: Mapping[str, HashValue] | None = None
    variants: Variants | None = None

    def __getitem__(self, algorithm: Algorithm) -> HashValue:
        """The hash for ``algorithm``.

        Raises:
            KeyError: that algorithm was not computed.
        """
        return self.hashes[algorithm]

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dictionary: the facts, then each hash in its text form."""
        out: dict[str, object] = {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "pdq_quality": self.pdq_quality,
            "low_quality": self.low_quality,
            "fast": self.fast,
        }
        for algorithm, value in self.hashes.items():
            out[algorithm.value] = value.to_text()
        if self.pdq_dihedral is not None:
            out["pdq_dihedral"] = {k: v.to_text() for k, v in self.pdq_dihedral.items()}
        return out


def _algorithms(algorithms: Iterable[Algorithm | str]) -> tuple[Algorithm, ...]:
    chosen: list[Algorithm] = []
    for item in algorithms:
        algorithm = item if isinstance(item, Algorithm) else Algorithm.parse(item)
        if algorithm not in chosen:
            chosen.append(algorithm)
    if not chosen:
        raise HashFormatError("no hash algorithm requested")
    return tuple(chosen)


def hash_image(
    data: bytes,
    algorithms: Iterable[Algorithm | str] = DEFAULT_ALGORITHMS,
    *,
    limits: DecodeLimits = DEFAULT_LIMITS,
    fast: bool = True,
    dihedral: bool = False,
    variants: bool = False,
) -> HashResult:
    """Decode ``data`` once and compute every hash in ``algorithms``.

    The image is always decoded, even for SHA-256 or MD5 alone, so that only images get
    hashes. With ``dihedral=True`` (and PDQ requested) the result also carries PDQ's
    eight rotation and flip variants, for finding mirrored copies. Pure: no files, clock
    or network. With ``variants=True`` it also carries every query variant (dihedral and
    flat-border-trimmed) of the perceptual hashes, for
    :meth:`hashes.matching.Matcher.match_variants`.

    Raises:
        EmptyInput, TooManyBytes, UnsupportedFormat, TooManyPixels, TooManyFrames,
        TooManyScans, DecodeMemoryExceeded, CorruptImage: (all
            :class:`~hashes.errors.DecodeError`) the bytes are not an image that can be
            decoded and hashed safely within ``limits`` (the memory budget includes what
            hashing allocates).
        HashFormatError: an algorithm name is unknown, or none was given.
    """
    chosen = _algorithms(algorithms)
    perceptual = any(a.perceptual for a in chosen)
    draft = FAST_DRAFT_SIZE if fast and perceptual else None
    extra = HASH_BYTES_PER_PIXEL[fast] if perceptual else 0
    decoded = decode_image(data, limits, draft_size=draft, extra_bytes_per_pixel=extra)
    return hash_decoded(decoded, data, chosen, fast=fast, dihedral=dihedral, variants=variants)


def hash_decoded(
    decoded: DecodedImage,
    data: bytes,
    algorithms: Iterable[Algorithm | str] = DEFAULT_ALGORITHMS,
    *,
    fast: bool = True,
    dihedral: bool = False,
    variants: bool = False,
) -> HashResult:
    """Hash an already decoded image; ``data`` are its original bytes (for SHA-256, MD5).

    With ``fast=False`` the PDQ is bit-exact only if ``decoded`` is a full-resolution
    decode (no ``draft_size``).

    Raises:
        HashFormatError: an algorithm name is unknown, or none was given.
    """
    chosen = _algorithms(algorithms)
    hashes: dict[Algorithm, HashValue] = {}
    quality: int | None = None
    dihedral_hashes: dict[str, HashValue] | None = None
    dihedral = dihedral or variants
    grey = None
    for algorithm in chosen:
        if algorithm is Algorithm.PDQ:
            full_size = (decoded.source_height, decoded.source_width)
            if dihedral:
                if fast:
                    luma = np.asarray(decoded.image.convert("F"))
                    dihedral_hashes, quality = pdq_dihedral_fast_with_quality(
                        luma, full_size=full_size
                    )
                else:
                    dihedral_hashes, quality = pdq_dihedral_with_quality(decoded.pixels())
                value = dihedral_hashes["original"]
            elif fast:
                luma = np.asarray(decoded.image.convert("F"))
                value, quality = pdq_hash_fast(luma, full_size=full_size)
            else:
                value, quality = pdq_hash(decoded.pixels())
        elif algorithm in (Algorithm.PHASH, Algorithm.DHASH):
            if grey is None:
                # imagehash converts to L first; doing it once serves both hashes.
                grey = decoded.image.convert("L")
            function = imagehash.phash if algorithm is Algorithm.PHASH else imagehash.dhash
            value = HashValue.from_hex(algorithm, str(function(grey)))
        elif algorithm is Algorithm.SHA256:
            value = HashValue(algorithm, hashlib.sha256(data).digest())
        else:
            value = HashValue(algorithm, hashlib.md5(data, usedforsecurity=False).digest())
        hashes[algorithm] = value
    query_variants = None
    if variants:
        pdq = None
        if dihedral_hashes is not None and quality is not None:
            pdq = (dihedral_hashes, quality)
        query_variants = variant_hashes(decoded, chosen, fast=fast, pdq=pdq)
    return HashResult(
        hashes=MappingProxyType(hashes),
        pdq_quality=quality,
        low_quality=quality is not None and quality < LOW_QUALITY,
        width=decoded.source_width,
        height=decoded.source_height,
        format=decoded.format,
        frames=decoded.frames,
        fast=fast,
        pdq_dihedral=MappingProxyType(dihedral_hashes) if dihedral_hashes is not None else None,
        variants=query_variants,
    )
