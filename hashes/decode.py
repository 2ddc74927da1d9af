"""Safe image decoding: untrusted bytes in, one normalised RGB picture out.

Every step that can fail on hostile input raises a typed :class:`~hashes.errors.DecodeError`
and nothing else. The limits are checked against the header before any pixel is
decoded, so a decompression bomb costs the parse of its header only:

1. size of the input (:class:`~hashes.errors.EmptyInput`, :class:`~hashes.errors.TooManyBytes`);
2. Pillow identifies the format among :attr:`DecodeLimits.formats`
   (:class:`~hashes.errors.UnsupportedFormat`);
3. the declared width x height against :attr:`DecodeLimits.max_pixels`
   (:class:`~hashes.errors.TooManyPixels`) and the frame count against
   :attr:`DecodeLimits.max_frames` (:class:`~hashes.errors.TooManyFrames`), counted with
   an early stop so a GIF of a million frames is refused after ``max_frames`` of them;
4. a JPEG's scans (SOS markers, found by walking its markers without decoding) against
   :attr:`DecodeLimits.max_scans` and, times its pixels, against
   :attr:`DecodeLimits.max_scan_pixels` (:class:`~hashes.errors.TooManyScans`): libjpeg
   re-reads the whole picture for every scan, so scans, not bytes, decide its time;
5. the memory the decode will allocate, estimated from the header (the canvas, which for a
   GIF is its logical screen, not its first frame; the pixel mode and bit depth; the
   coefficient buffer of a progressive JPEG; what the caller will add per pixel), against
   :attr:`DecodeLimits.max_memory` (:class:`~hashes.errors.DecodeMemoryExceeded`);
6. the first frame is decoded (:class:`~hashes.errors.CorruptImage` for truncated or
   corrupt data), turned upright by its EXIF orientation, and normalised to RGB:
   alpha is composited on :attr:`DecodeLimits.background`, 16-bit samples keep their top
   8 bits, every other mode goes through Pillow's own conversion.

Pillow's process-global ``MAX_IMAGE_PIXELS`` is never changed. Warnings Pillow emits on
odd files (bad EXIF, palette transparency, its own bomb warning) are ignored and never
reach the console. With ``draft_size`` a JPEG is decoded by libjpeg's DCT scaling
at 1/2, 1/4 or 1/8 of its size, never below ``draft_size``: several times faster, for the
fast hashing path.

:func:`decode_image` is safe to call from many threads at once (the service re-hashes
media in a thread pool). Python's warning filters are interpreter-wide and
``warnings.catch_warnings`` is not thread-safe: two overlapping calls would each restore
the other's filters and could leave them changed for good. So concurrent decodes share
one quiet window (:class:`_PillowWarningsIgnored`), opened by the first and closed by the
last; while it is open, warnings attributed to Pillow or to this module are ignored in
every thread, and all other warnings behave as before.
"""

from __future__ import annotations

import io
import math
import re
import threading
import warnings
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from hashes.errors import (
    CorruptImage,
    DecodeMemoryExceeded,
    EmptyInput,
    TooManyBytes,
    TooManyFrames,
    TooManyPixels,
    TooManyScans,
    UnsupportedFormat,
)

__all__ = [
    "DEFAULT_FORMATS",
    "DEFAULT_LIMITS",
    "DecodeLimits",
    "DecodedImage",
    "check_image",
    "decode_image",
    "estimate_decode_bytes",
    "to_rgb",
]

DEFAULT_FORMATS: Final = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF"})
"""Pillow format names decoded by default. MPO is how Pillow names the multi-picture JPEGs
that many phone cameras write; only its first picture is used."""

_JPEG_FAMILY: Final = frozenset({"JPEG", "MPO"})
_SIXTEEN_BIT: Final = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_WITH_ALPHA: Final = frozenset({"RGBA", "LA", "PA", "La", "RGBa"})


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """What :func:`decode_image` agrees to decode.

    Defaults: 50 MiB of input, 64 Mpx (2**26 pixels: a 9000x7000 photo fits; below
    Pillow's own bomb threshold of about 89 Mpx, which therefore never fires first), 1000
    frames, 100 JPEG scans (libjpeg's own progressive scripts use about 10) and at most
    2**28 scan-pixels (scans x pixels: libjpeg walks every block of the picture for each
    scan, 0.5 to 2 ns a pixel on a busy core, so this bounds a JPEG's decode near half a
    second; a 24 Mpx picture may have 11 scans, a 12 Mpx one 22, 2.7 Mpx the full 100),
    512 MiB of
    memory for the decode (:func:`estimate_decode_bytes`; a 64 Mpx JPEG fits through the
    fast path's DCT scaling, a PNG or GIF canvas of about 32 Mpx, 21 Mpx with alpha), the
    formats in :data:`DEFAULT_FORMATS`, a white background for transparency. A
    ``max_pixels`` above Pillow's threshold is capped by Pillow at twice its threshold
    (still reported as :class:`~hashes.errors.TooManyPixels`).

    Raises:
        ValueError: (on construction) a limit is not a positive integer, or the background
            is not three 0..255 integers.
    """

    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 1 << 26
    max_frames: int = 1000
    formats: frozenset[str] = DEFAULT_FORMATS
    background: tuple[int, int, int] = (255, 255, 255)
    max_scans: int = 100
    max_memory: int = 512 * 1024 * 1024
    max_scan_pixels: int = 1 << 28

    def __post_init__(self) -> None:
        names = ("max_bytes", "max_pixels", "max_frames", "max_scans", "max_memory")
        for name in (*names, "max_scan_pixels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if len(self.background) != 3 or not all(0 <= c <= 255 for c in self.background):
            raise ValueError(f"background must be three 0..255 integers, got {self.background}")


DEFAULT_LIMITS: Final = DecodeLimits()
"""The default limits (a frozen value, shared)."""


@dataclass(frozen=True, slots=True, eq=False)
class DecodedImage:
    """A decoded, upright, RGB first frame.

    ``width`` and ``height`` are those of ``image`` (after EXIF orientation, and after
    draft scaling when asked for); ``source_width`` and ``source_height`` are the
    full-resolution size after EXIF orientation (equal to ``width`` and ``height`` unless
    a draft decode shrank the picture). ``format`` is Pillow's name (``"JPEG"``, ``"PNG"``...),
    ``mode`` the file's own Pillow mode before normalisation, ``frames`` how many frames
    the file holds. Treat ``image`` as read-only.
    """

    image: Image.Image
    width: int
    height: int
    format: str
    mode: str
    frames: int
    source_width: int
    source_height: int

    @property
    def rgb(self) -> Image.Image:
        """The picture as a Pillow image in mode ``RGB``."""
        return self.image

    def pixels(self) -> npt.NDArray[np.uint8]:
        """The picture as an ``H x W x 3`` uint8 array (a fresh copy)."""
        return np.array(self.image, dtype=np.uint8)


def decode_image(
    data: bytes,
    limits: DecodeLimits = DEFAULT_LIMITS,
    *,
    draft_size: tuple[int, int] | None = None,
    extra_bytes_per_pixel: int = 0,
) -> DecodedImage:
    """Decode the first frame of an image file to an upright RGB picture.

    ``extra_bytes_per_pixel`` is what the caller will allocate per decoded pixel once this
    returns (:func:`hashes.compute.hash_image` passes what hashing takes); it counts in the
    memory budget, so that the whole job is refused before any pixel is decoded.

    Raises:
        EmptyInput: ``data`` is empty.
        TooManyBytes: ``data`` is longer than ``limits.max_bytes``.
        UnsupportedFormat: not an image, or a format outside ``limits.formats``, or a
            pixel mode that cannot be converted to RGB.
        TooManyPixels: the header declares more than ``limits.max_pixels`` pixels.
        TooManyFrames: the file holds more than ``limits.max_frames`` frames.
        TooManyScans: a JPEG holds more than ``limits.max_scans`` scans, or more than
            ``limits.max_scan_pixels`` allows at its size.
        DecodeMemoryExceeded: the estimated allocation exceeds ``limits.max_memory``.
        CorruptImage: truncated or corrupt data.
    """
    if len(data) == 0:
        raise EmptyInput("the input is empty")
    if len(data) > limits.max_bytes:
        raise TooManyBytes(f"the input has {len(data)} bytes; the limit is {limits.max_bytes}")
    if extra_bytes_per_pixel < 0:
        raise ValueError("extra_bytes_per_pixel must not be negative")
    with _PILLOW_WARNINGS_IGNORED:
        return _decode(data, limits, draft_size, extra_bytes_per_pixel)


class _PillowWarningsIgnored:
    """A reference-counted ``warnings.catch_warnings`` shared by concurrent decodes.

    The first thread in saves the interpreter's filters and adds ignore rules for Pillow's
    modules and this one; the last thread out restores them. Entering and leaving hold a
    lock, the decoding in between does not.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._saved: warnings.catch_warnings[None] | None = None

    def __enter__(self) -> None:
        with self._lock:
            if self._users == 0:
                saved = warnings.catch_warnings()
                saved.__enter__()
                warnings.filterwarnings("ignore", module="PIL")
                warnings.filterwarnings("ignore", module=r"hashes\.decode$")
                self._saved = saved
            self._users += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._saved is not None:
                self._saved.__exit__(None, None, None)
                self._saved = None


_PILLOW_WARNINGS_IGNORED: Final = _PillowWarningsIgnored()


def check_image(
    data: bytes,
    limits: DecodeLimits = DEFAULT_LIMITS,
    *,
    draft_size: tuple[int, int] | None = None,
    extra_bytes_per_pixel: int = 0,
) -> None:
    """Every check :func:`decode_image` makes before it decodes a pixel, and nothing else:
    for code that decodes with Pillow itself (the service's moderator thumbnails).

    Raises:
        the same as :func:`decode_image`, except ``CorruptImage`` for damaged pixel data,
        which only a decode finds.
    """
    if len(data) == 0:
        raise EmptyInput("the input is empty")
    if len(data) > limits.max_bytes:
        raise TooManyBytes(f"the input has {len(data)} bytes; the limit is {limits.max_bytes}")
    if extra_bytes_per_pixel < 0:
        raise ValueError("extra_bytes_per_pixel must not be negative")
    with _PILLOW_WARNINGS_IGNORED:
        im = _open(data, limits)
        with im:
            _check_opened(im, data, limits, draft_size, extra_bytes_per_pixel)


def _open(data: bytes, limits: DecodeLimits) -> Image.Image:
    # Register every plugin first (idempotent): Pillow raises KeyError for a format whose
    # plugin is not loaded yet, such as MPO.
    Image.init()
    allowed = sorted(f for f in limits.formats if f in Image.OPEN)
    if not allowed:
        raise UnsupportedFormat("no allowed format is known to Pillow")
    try:
        return Image.open(io.BytesIO(data), formats=allowed)
    except Image.DecompressionBombError as exc:
        raise TooManyPixels(f"decompression bomb refused: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedFormat("not an image in an allowed format") from exc
    except Exception as exc:  # Pillow's parsers raise many types on hostile headers.
        raise CorruptImage(f"unreadable image header: {_describe(exc)}") from exc


def _check_opened(
    im: Image.Image,
    data: bytes,
    limits: DecodeLimits,
    draft_size: tuple[int, int] | None,
    extra: int,
) -> tuple[str, int, int, int, str]:
    """The header checks, in order; returns (format, width, height, frames, mode). With
    ``draft_size`` a JPEG is set to DCT scaling (``im.size`` becomes the reduced size)."""
    fmt = im.format or "unknown"
    if fmt not in limits.formats:
        raise UnsupportedFormat(f"format {fmt} is not allowed")
    width, height = im.size
    if width <= 0 or height <= 0:
        raise CorruptImage(f"the image declares a size of {width}x{height}")
    if width * height > limits.max_pixels:
        raise TooManyPixels(
            f"{width}x{height} is {width * height} pixels; the limit is {limits.max_pixels}"
        )
    frames = _count_frames(im, data, limits.max_frames)
    mode = im.mode
    coefficients = 0
    if fmt in _JPEG_FAMILY:
        cap = max(1, min(limits.max_scans, limits.max_scan_pixels // (width * height)))
        coefficients = _jpeg_coefficient_bytes(data, cap, limits.max_scans)
    try:
        if draft_size is not None and fmt in _JPEG_FAMILY:
            im.draft("RGB", draft_size)
    except Exception as exc:
        raise CorruptImage(f"unreadable JPEG header: {_describe(exc)}") from exc
    out_w, out_h = im.size
    needed = coefficients + estimate_decode_bytes(
        out_w * out_h,
        im.mode,
        transparency="transparency" in im.info,
        fmt=fmt,
        extra_bytes_per_pixel=extra,
    )
    if needed > limits.max_memory:
        raise DecodeMemoryExceeded(
            f"decoding {fmt} {width}x{height} ({im.mode}) needs about {needed >> 20} MiB; "
            f"the budget is {limits.max_memory >> 20} MiB"
        )
    return fmt, width, height, frames, mode


def _decode(
    data: bytes, limits: DecodeLimits, draft_size: tuple[int, int] | None, extra: int
) -> DecodedImage:
    im = _open(data, limits)
    with im:
        fmt, width, height, frames, mode = _check_opened(im, data, limits, draft_size, extra)
        try:
            im.load()
            loaded_size = im.size
            upright = ImageOps.exif_transpose(im)
            rgb = to_rgb(upright, limits.background)
        except UnsupportedFormat:
            raise
        except Image.DecompressionBombError as exc:
            raise TooManyPixels(f"decompression bomb refused: {exc}") from exc
        except MemoryError as exc:  # past a sandbox's address-space limit
            raise DecodeMemoryExceeded("the decoder ran out of memory") from exc
        except Exception as exc:  # truncated or corrupt data: OSError, SyntaxError, ...
            raise CorruptImage(f"corrupt image data: {_describe(exc)}") from exc
    if rgb.size != loaded_size:  # EXIF orientation 5..8 swaps the sides
        width, height = height, width
    return DecodedImage(
        image=rgb,
        width=rgb.width,
        height=rgb.height,
        format=fmt,
        mode=mode,
        frames=frames,
        source_width=width,
        source_height=height,
    )


_STORED_BYTES: Final = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
"""Bytes per pixel of Pillow's storage for a mode (4 for every mode not listed)."""


def estimate_decode_bytes(
    pixels: int,
    mode: str,
    *,
    transparency: bool = False,
    fmt: str = "",
    extra_bytes_per_pixel: int = 0,
) -> int:
    """Peak bytes :func:`decode_image` allocates for a canvas of ``pixels`` in ``mode``.

    Measured on Pillow's pipeline (peak resident growth of a fresh process; figures in
    ``docs/hashing.md``): the decoded canvas, the upright copy, the conversion to RGB (alpha
    is composited through three more 4-byte canvases; 16-bit greyscale goes through a
    32-bit array), then the RGB picture plus ``extra_bytes_per_pixel`` for what the caller
    does next. WebP adds the decoder's own 4-byte canvas. A progressive JPEG's coefficient
    buffer is not included (see :func:`decode_image`). Pure arithmetic.
    """
    stored = _STORED_BYTES.get(mode, 4)
    if mode == "RGB" and not transparency:
        convert = 0
    elif mode in _WITH_ALPHA or transparency:
        convert = 16
    elif mode in _SIXTEEN_BIT:
        convert = 10
    else:
        convert = 4
    per_pixel = 2 * stored + convert + (4 if fmt == "WEBP" else 0)
    return pixels * max(per_pixel, 4 + extra_bytes_per_pixel)


# A marker is 0xFF followed by anything but 0x00 (a stuffed byte in entropy-coded data),
# 0xD0..0xD7 (restart markers) or 0xFF (fill): the rule libjpeg's marker reader follows.
_JPEG_MARKER: Final = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_JPEG_SOF: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_MAX_MARKERS: Final = 20_000


def _jpeg_coefficient_bytes(data: bytes, allowed: int, max_scans: int) -> int:
    """Walk a JPEG's markers up to its first EOI without decoding; refuse more than
    ``allowed`` scans (``max_scans``, or fewer for a large picture: see
    :attr:`DecodeLimits.max_scan_pixels`).

    Returns the bytes of the coefficient buffer libjpeg allocates for the whole picture
    when it has more than one scan (progressive, or sequential in several scans): 2 bytes
    per sample of every component, at its sampling factors, padded to 8x8 blocks; 0 for a
    single-scan file. Header segments are skipped by their length and entropy-coded data
    by a regular expression, so the walk costs one step per marker. The cheap
    ``count(b"\xff\xda")`` is an upper bound of the scans and spares the walk for almost
    every file.

    Raises:
        TooManyScans: more than ``allowed`` SOS markers before the first EOI.
        CorruptImage: more than 20000 markers (no honest JPEG has a thousand).
    """
    bound = data.count(b"\xff\xda")
    if bound == 0:
        return 0
    scans = 0
    progressive = False
    coefficients = 0
    pos = 2
    size = len(data)
    for _ in range(_JPEG_MAX_MARKERS):
        found = _JPEG_MARKER.search(data, pos)
        if found is None:
            break
        code = data[found.start() + 1]
        pos = found.end()
        if code == 0xD9:  # EOI: the first picture ends here (an MPO's next one is not read)
            break
        if code == 0x01 or 0xD0 <= code <= 0xD8:  # no length field
            continue
        if pos + 2 > size:
            break
        length = int.from_bytes(data[pos : pos + 2], "big")
        if code in _JPEG_SOF and coefficients == 0:
            progressive = code in (0xC2, 0xC6, 0xCA, 0xCE)
            coefficients = _sof_coefficient_bytes(data[pos + 2 : pos + length])
        elif code == 0xDA:
            scans += 1
            if scans > allowed:
                if allowed == max_scans:
                    raise TooManyScans(f"the JPEG holds more than {max_scans} scans")
                raise TooManyScans(
                    f"the JPEG holds more than {allowed} scans, the most its size allows "
                    "(each scan re-reads every block)"
                )
            if bound <= allowed and scans > 1:
                break  # the count already proves the limit holds; the buffer is needed
        pos += max(length, 2)
    else:
        raise CorruptImage(f"the JPEG holds more than {_JPEG_MAX_MARKERS} markers")
    return coefficients if progressive or scans > 1 else 0


def _sof_coefficient_bytes(segment: bytes) -> int:
    """Coefficient-buffer bytes for a start-of-frame segment (precision, height, width,
    components with sampling factors); 0 if it cannot be read (Pillow then refuses it)."""
    if len(segment) < 6:
        return 0
    height = int.from_bytes(segment[1:3], "big")
    width = int.from_bytes(segment[3:5], "big")
    count = segment[5]
    factors = [
        (segment[6 + 3 * i + 1] >> 4, segment[6 + 3 * i + 1] & 15)
        for i in range(count)
        if 6 + 3 * i + 1 < len(segment)
    ]
    if not factors:
        return 0
    h_max = max(h for h, _ in factors) or 1
    v_max = max(v for _, v in factors) or 1
    total = 0
    for h, v in factors:
        blocks_w = math.ceil(math.ceil(width * h / h_max) / 8)
        blocks_h = math.ceil(math.ceil(height * v / v_max) / 8)
        total += blocks_w * blocks_h * 64 * 2
    return total


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:120]}" if text else type(exc).__name__


def _count_frames(im: Image.Image, data: bytes, max_frames: int) -> int:
    """Frames in the file, refusing more than ``max_frames`` without reading them all.

    Raises:
        TooManyFrames: more than ``max_frames`` frames.
        CorruptImage: the frame structure cannot be read.
    """
    if im.format == "GIF":
        count = _count_gif_frames(data, max_frames + 1)
    elif im.format == "TIFF":
        count = _count_tiff_frames(im, max_frames + 1)
    else:
        # WebP, APNG and MPO declare their frame count in a header chunk.
        try:
            count = int(getattr(im, "n_frames", 1))
        except Exception as exc:
            raise CorruptImage(f"unreadable frame table: {_describe(exc)}") from exc
    if count > max_frames:
        raise TooManyFrames(f"more than {max_frames} frames")
    return count


def _count_tiff_frames(im: Image.Image, stop: int) -> int:
    """Walk TIFF directories up to ``stop`` (seeking reads tags only, no pixel data)."""
    count = 1
    try:
        try:
            while count < stop:
                im.seek(count)
                count += 1
        except EOFError:
            pass
        im.seek(0)
    except Exception as exc:
        raise CorruptImage(f"unreadable TIFF directories: {_describe(exc)}") from exc
    return count


def _count_gif_frames(data: bytes, stop: int) -> int:
    """Count image descriptors in a GIF by walking its blocks; stop once ``stop`` is reached.

    GIF89a layout: header (6), logical screen descriptor (7), optional global colour
    table, then blocks: ``0x21`` extension (label, data sub-blocks), ``0x2C`` image
    descriptor (9 bytes, optional local colour table, LZW code size, data sub-blocks),
    ``0x3B`` trailer. A file that ends early counts the frames seen so far, as Pillow
    decodes it.

    Raises:
        CorruptImage: the first frame cannot be found.
    """
    count = 0
    try:
        pos = 6 + 7
        flags = data[10]
        if flags & 0x80:
            pos += 3 << ((flags & 7) + 1)
        size = len(data)
        while pos < size and count < stop:
            introducer = data[pos]
            if introducer == 0x3B:
                break
            if introducer == 0x21:
                pos = _skip_sub_blocks(data, pos + 2)
            elif introducer == 0x2C:
                count += 1
                local = data[pos + 9]
                pos += 10
                if local & 0x80:
                    pos += 3 << ((local & 7) + 1)
                pos = _skip_sub_blocks(data, pos + 1)
            else:
                break
    except IndexError as exc:
        if count:
            return count
        raise CorruptImage("truncated GIF") from exc
    if count == 0:
        raise CorruptImage("the GIF holds no image")
    return count


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    """Return the position after a chain of GIF data sub-blocks starting at ``pos``."""
    while True:
        length = data[pos]
        pos += 1 + length
        if length == 0:
            return pos


def to_rgb(im: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Normalise a decoded Pillow image of any mode to mode ``RGB``.

    Alpha (``RGBA``, ``LA``, ``PA``, premultiplied, and palettes with a transparent
    entry) is composited over ``background``. 16-bit greyscale keeps its top 8 bits.
    ``I`` and ``F`` are taken as 0..255 intensities and clipped, as Pillow does. ``1``,
    ``L``, ``P``, ``CMYK``, ``YCbCr``, ``LAB`` and ``HSV`` go through Pillow's conversion.

    Raises:
        UnsupportedFormat: the mode cannot be converted to RGB.
    """
    mode = im.mode
    if mode == "RGB" and "transparency" not in im.info:
        return im
    if mode in _SIXTEEN_BIT:
        grey = (np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    has_alpha = mode in _WITH_ALPHA or (mode in ("P", "L", "RGB") and "transparency" in im.info)
    try:
        if has_alpha:
            rgba = im.convert("RGBA")
            base = Image.new("RGBA", rgba.size, (*background, 255))
            return Image.alpha_composite(base, rgba).convert("RGB")
        return im.convert("RGB")
    except ValueError as exc:
        raise UnsupportedFormat(f"cannot convert mode {mode} to RGB") from exc
