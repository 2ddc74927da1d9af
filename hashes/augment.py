"""Augmented list entries: the hashes of a few standard edits of a listed picture.

Perceptual hashes do not survive small crops and rotations (``docs/hashing.md``,
"Robustness"): PDQ loses most photographs cropped by 5 % or rotated by 2 degrees. The
device cannot undo those edits the way it undoes mirrors (:mod:`hashes.variants`), so the
curator pays instead: for each listed picture the list also carries the hashes of the
edits in :data:`STANDARD_EDITS`, under the same entry id, and a match on any of them is a
match on the entry (:meth:`hashes.matching.Matcher.match_variants` reports each id once).
The list grows by ``len(edits)`` entries per picture; ``benchmarks/robustness.py``
measures what each edit buys.

Pure: image bytes in, hash values out. The picture is decoded once, on the same fast
path a device uses (JPEG draft scaling), and every edit is hashed with the tent filter of
the edited picture's full-resolution size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from PIL import Image

from hashes.compute import FAST_DRAFT_SIZE, hash_decoded
from hashes.decode import DEFAULT_LIMITS, DecodedImage, DecodeLimits, decode_image
from hashes.errors import HashFormatError
from hashes.values import Algorithm, HashValue

__all__ = ["STANDARD_EDITS", "Edit", "augmented_hashes", "edit_names"]


@dataclass(frozen=True, slots=True)
class Edit:
    """A named edit of a picture; ``apply`` maps a Pillow RGB image to a new one."""

    name: str
    apply: Callable[[Image.Image], Image.Image]


def _crop(
    left: float, top: float, right: float, bottom: float
) -> Callable[[Image.Image], Image.Image]:
    """Cut the given shares of width or height from each side."""

    def apply(im: Image.Image) -> Image.Image:
        w, h = im.width, im.height
        return im.crop(
            (round(w * left), round(h * top), w - round(w * right), h - round(h * bottom))
        )

    return apply


def _rotate(degrees: float) -> Callable[[Image.Image], Image.Image]:
    """Rotate about the centre, keeping the size (corners filled with black), as the
    rotate tools of most editors and the benchmark's ``rotate`` edit do."""
    return lambda im: im.rotate(degrees, Image.Resampling.BICUBIC, expand=False)


def _square(im: Image.Image) -> Image.Image:
    side = min(im.width, im.height)
    left, top = (im.width - side) // 2, (im.height - side) // 2
    return im.crop((left, top, left + side, top + side))


STANDARD_EDITS: Final = (
    Edit("crop_left_5", _crop(0.05, 0, 0, 0)),
    Edit("crop_right_5", _crop(0, 0, 0.05, 0)),
    Edit("crop_top_5", _crop(0, 0.05, 0, 0)),
    Edit("crop_bottom_5", _crop(0, 0, 0, 0.05)),
    Edit("crop_centre_5", _crop(0.025, 0.025, 0.025, 0.025)),
    Edit("crop_centre_10", _crop(0.05, 0.05, 0.05, 0.05)),
    Edit("rotate_plus_2", _rotate(2)),
    Edit("rotate_minus_2", _rotate(-2)),
    Edit("square", _square),
)
"""The edits ``frankly list build --augment`` adds, in this order."""


def edit_names(edits: Sequence[Edit] = STANDARD_EDITS) -> tuple[str, ...]:
    """The names of ``edits``, in order."""
    return tuple(e.name for e in edits)


def augmented_hashes(
    data: bytes,
    algorithm: Algorithm,
    edits: Sequence[Edit] = STANDARD_EDITS,
    *,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> list[tuple[str, HashValue]]:
    """The hash of the picture in ``data`` (``"original"``) and of each edit, in order.

    Raises:
        DecodeError: (any subclass) the bytes are not an image that decodes safely.
        HashFormatError: ``algorithm`` is not a perceptual algorithm.
    """
    if not isinstance(algorithm, Algorithm) or not algorithm.perceptual:
        raise HashFormatError(f"only perceptual hashes can be augmented, not {algorithm!r}")
    decoded = decode_image(data, limits, draft_size=FAST_DRAFT_SIZE)
    out = [("original", hash_decoded(decoded, data, [algorithm])[algorithm])]
    scale_w = decoded.source_width / decoded.width
    scale_h = decoded.source_height / decoded.height
    for edit in edits:
        image = edit.apply(decoded.image)
        edited = DecodedImage(
            image=image,
            width=image.width,
            height=image.height,
            format=decoded.format,
            mode="RGB",
            frames=1,
            source_width=max(image.width, round(image.width * scale_w)),
            source_height=max(image.height, round(image.height * scale_h)),
        )
        out.append((edit.name, hash_decoded(edited, b"", [algorithm])[algorithm]))
    return out
