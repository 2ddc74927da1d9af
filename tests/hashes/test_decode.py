"""Safe decoding: every mode and format, EXIF orientation, limits, bombs, broken input."""

from __future__ import annotations

import contextlib
import io
import struct
import threading
import time
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from hashes.compute import hash_image
from hashes.decode import (
    DecodedImage,
    DecodeLimits,
    decode_image,
    estimate_decode_bytes,
    to_rgb,
)
from hashes.errors import (
    CorruptImage,
    DecodeError,
    DecodeMemoryExceeded,
    EmptyInput,
    LimitExceeded,
    TooManyBytes,
    TooManyFrames,
    TooManyPixels,
    TooManyScans,
    UnsupportedFormat,
)
from tests.hashes.hostile_media import (
    gif_with_logical_screen,
    png_rgba16,
    progressive_jpeg_with_scans,
)
from tests.hashes.imaging_support import PDQ_DIR, ROWS, VectorRow, encode, photo

# --- helpers that build hostile files by hand --------------------------------------------


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width x height`` RGB pixels; the data is a few zeros."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + png_chunk(b"IEND", b"")
    )


def gif_with_frames(frames: int) -> bytes:
    """A 2x2 GIF with ``frames`` image descriptors, each a tiny LZW stream."""
    head = b"GIF87a" + struct.pack("<HHBBB", 2, 2, 0x80, 0, 0) + b"\x00" * 6
    # Image descriptor, LZW minimum code size 8, one 6-byte data sub-block (as Pillow
    # writes a black 2x2 frame), block terminator.
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 2, 2, 0) + b"\x08\x06\x00\x01\x08\x04\x10\x10\x00"
    return head + frame * frames + b"\x3b"


def jpeg_with_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", quality=95, exif=exif.tobytes())


def corner_image() -> Image.Image:
    """40 wide, 20 high, grey with a red top-left corner block."""
    im = Image.new("RGB", (40, 20), (128, 128, 128))
    im.paste((255, 0, 0), (0, 0, 10, 10))
    return im


def red_corner(decoded: DecodedImage) -> str:
    px = decoded.pixels().astype(int)
    h, w = px.shape[:2]
    corners = {
        "top-left": px[2, 2],
        "top-right": px[2, w - 3],
        "bottom-left": px[h - 3, 2],
        "bottom-right": px[h - 3, w - 3],
    }
    return next(name for name, c in corners.items() if c[0] > 200 and c[1] < 80)


# --- the vectors --------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=[r.file for r in ROWS])
def test_every_vector_decodes_to_the_reference_pixels(row: VectorRow) -> None:
    decoded = decode_image(row.path.read_bytes())
    assert (decoded.width, decoded.height) == (row.width, row.height)
    assert decoded.image.mode == "RGB"
    assert decoded.frames == 1
    with Image.open(row.path) as im:
        # Every vector is opaque, so compositing on the background changes nothing.
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert np.array_equal(decoded.pixels(), expected)


def test_vector_modes_are_reported() -> None:
    modes = {}
    for name in ("1.png", "L.png", "LA.png", "P.png", "RGBA.png", "CMYK.jpg"):
        modes[name] = decode_image((PDQ_DIR / "misc-images" / "modes" / name).read_bytes()).mode
    assert modes == {
        "1.png": "1",
        "L.png": "L",
        "LA.png": "LA",
        "P.png": "P",
        "RGBA.png": "RGBA",
        "CMYK.jpg": "CMYK",
    }


# --- every Pillow mode, through TIFF (which stores them all) ---------------------------------

TIFF_MODES = ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "I", "I;16", "F"]


@pytest.mark.parametrize("mode", TIFF_MODES)
def test_every_mode_decodes_to_rgb(mode: str) -> None:
    source = photo(48, 32).convert("L").convert(mode) if mode in ("I", "I;16", "F") else None
    if source is None:
        source = photo(48, 32).convert(mode)
    decoded = decode_image(encode(source, "TIFF"))
    assert decoded.mode == mode
    assert decoded.format == "TIFF"
    assert decoded.image.mode == "RGB"
    assert (decoded.width, decoded.height) == (48, 32)
    grey_of_photo = np.asarray(photo(48, 32).convert("L"), dtype=float)
    grey_decoded = np.asarray(decoded.image.convert("L"), dtype=float)
    if mode == "I;16":
        # Pillow widens L to I;16 without scaling; the top 8 bits of 0..255 are 0.
        assert grey_decoded.max() == 0
    elif mode == "1":
        assert set(np.unique(grey_decoded)) <= {0.0, 255.0}
    else:
        assert np.corrcoef(grey_of_photo.ravel(), grey_decoded.ravel())[0, 1] > 0.95


def test_sixteen_bit_keeps_the_top_eight_bits() -> None:
    ramp = (np.arange(64, dtype=np.uint16) * 1024 + 512).reshape(8, 8)
    decoded = decode_image(encode(Image.fromarray(ramp), "PNG"))
    assert decoded.mode == "I;16"
    assert np.array_equal(decoded.pixels()[:, :, 0], (ramp >> 8).astype(np.uint8))


def test_hsv_and_premultiplied_modes_convert() -> None:
    red = Image.new("RGB", (4, 4), (255, 0, 0))
    assert to_rgb(red.convert("HSV")).getpixel((0, 0)) == (255, 0, 0)
    half = Image.new("RGBA", (4, 4), (255, 0, 0, 128)).convert("RGBa")
    out = to_rgb(half, (0, 0, 0))
    r, g, b = out.getpixel((0, 0))
    assert 120 <= r <= 135
    assert (g, b) == (0, 0)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_alpha_is_composited_on_the_background(fmt: str) -> None:
    im = Image.new("RGBA", (16, 16), (255, 0, 0, 0))
    im.paste((0, 0, 255, 255), (0, 0, 8, 16))
    data = encode(im, fmt, lossless=True) if fmt == "WEBP" else encode(im, fmt)
    white = decode_image(data).pixels()
    assert tuple(white[8, 12]) == (255, 255, 255)
    assert tuple(white[8, 2]) == (0, 0, 255)
    black = decode_image(data, DecodeLimits(background=(0, 0, 0))).pixels()
    assert tuple(black[8, 12]) == (0, 0, 0)


def test_palette_transparency_is_composited_without_warnings() -> None:
    data = _warning_png()
    # filterwarnings=error would turn any escaping Pillow warning into a failure here.
    assert tuple(decode_image(data).pixels()[0, 0]) == (255, 255, 255)


def _warning_png() -> bytes:
    # A palette PNG with transparency: converting it makes Pillow warn.
    im = Image.new("P", (8, 8), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    return encode(im, "PNG", transparency=1)


def test_concurrent_decodes_leave_the_warning_filters_as_they_were() -> None:
    # The service decodes in a thread pool. warnings.catch_warnings per call is not
    # thread-safe: overlapping calls restore each other's filters and leave them changed.
    data = _warning_png()
    before = list(warnings.filters)
    show_before = warnings.showwarning
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def work() -> None:
        start.wait()
        try:
            for _ in range(40):
                assert tuple(decode_image(data).pixels()[0, 0]) == (255, 255, 255)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert warnings.filters == before
    assert warnings.showwarning is show_before
    # The test's own warnings still follow pytest's filterwarnings=error.
    with pytest.raises(UserWarning):
        warnings.warn("not Pillow's", UserWarning, stacklevel=1)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_each_allowed_format_decodes(fmt: str) -> None:
    decoded = decode_image(encode(photo(30, 20), fmt))
    assert decoded.format == fmt
    assert (decoded.width, decoded.height) == (30, 20)


def test_first_gif_frame_and_frame_count() -> None:
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    decoded = decode_image(buffer.getvalue())
    assert decoded.frames == 3
    assert tuple(decoded.pixels()[4, 4]) == (255, 0, 0)


# --- EXIF orientation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "size", "corner"),
    [
        (1, (40, 20), "top-left"),
        (2, (40, 20), "top-right"),
        (3, (40, 20), "bottom-right"),
        (4, (40, 20), "bottom-left"),
        (5, (20, 40), "top-left"),
        (6, (20, 40), "top-right"),
        (7, (20, 40), "bottom-right"),
        (8, (20, 40), "bottom-left"),
    ],
)
def test_exif_orientation_is_applied(orientation: int, size: tuple[int, int], corner: str) -> None:
    decoded = decode_image(jpeg_with_orientation(corner_image(), orientation))
    assert (decoded.width, decoded.height) == size
    assert (decoded.source_width, decoded.source_height) == size
    assert red_corner(decoded) == corner


def test_corrupt_exif_is_ignored_quietly() -> None:
    data = encode(photo(16, 16), "JPEG", exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + b"\x00" * 8)
    assert decode_image(data).width == 16


# --- draft decoding ------------------------------------------------------------------------


def test_draft_decodes_a_jpeg_at_reduced_size_never_below_the_request() -> None:
    data = encode(photo(1024, 768), "JPEG", quality=90)
    full = decode_image(data)
    assert (full.width, full.height) == (1024, 768)
    # libjpeg scales by 1/2, 1/4 or 1/8; Pillow picks the largest that keeps both sides
    # at least as large as asked: 1024 // 128 = 8 and 768 // 128 = 6, so 1/4.
    small = decode_image(data, draft_size=(128, 128))
    assert (small.width, small.height) == (256, 192)
    assert (small.source_width, small.source_height) == (1024, 768)
    png = decode_image(encode(photo(300, 200), "PNG"), draft_size=(64, 64))
    assert (png.width, png.height) == (300, 200)


def test_draft_respects_exif_orientation() -> None:
    big = corner_image().resize((400, 200))
    decoded = decode_image(jpeg_with_orientation(big, 6), draft_size=(50, 50))
    assert (decoded.width, decoded.height) == (50, 100)
    assert (decoded.source_width, decoded.source_height) == (200, 400)
    assert red_corner(decoded) == "top-right"


# --- limits and broken input ----------------------------------------------------------------


def test_empty_input() -> None:
    with pytest.raises(EmptyInput):
        decode_image(b"")


def test_too_many_bytes_is_checked_before_parsing() -> None:
    with pytest.raises(TooManyBytes):
        decode_image(b"\x00" * 101, DecodeLimits(max_bytes=100))


@pytest.mark.parametrize(
    "data",
    [b"hello world", b"%PDF-1.4\n", b"\x00" * 64, b"GIF87", b"<svg></svg>", b"\xff\xd8"],
)
def test_non_images_are_unsupported(data: bytes) -> None:
    with pytest.raises((UnsupportedFormat, CorruptImage)):
        decode_image(data)


def test_formats_outside_the_allowed_set_are_unsupported() -> None:
    with pytest.raises(UnsupportedFormat):
        decode_image(encode(photo(8, 8), "ICO"))
    with pytest.raises(UnsupportedFormat):
        decode_image(encode(photo(8, 8), "JPEG"), DecodeLimits(formats=frozenset({"PNG"})))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"])
def test_truncated_files_are_corrupt(fmt: str) -> None:
    data = encode(photo(64, 48, seed=2), fmt)
    with pytest.raises(DecodeError):
        decode_image(data[: len(data) // 2])


def test_damaged_png_data_is_corrupt() -> None:
    data = bytearray(encode(photo(64, 48), "PNG"))
    start = data.index(b"IDAT") + 20
    data[start : start + 16] = b"\xff" * 16
    with pytest.raises(CorruptImage):
        decode_image(bytes(data))


def test_decompression_bomb_beyond_pillow_threshold_fails_fast_in_little_memory() -> None:
    bomb = png_declaring(100_000, 100_000)
    assert len(bomb) < 200
    tracemalloc.start()
    try:
        with pytest.raises(TooManyPixels):
            decode_image(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_image_over_our_limit_but_under_pillows_is_refused_before_loading() -> None:
    bomb = png_declaring(9_000, 8_000)  # 72 Mpx: over 64 Mpx, under Pillow's 89 Mpx
    tracemalloc.start()
    try:
        with pytest.raises(TooManyPixels):
            decode_image(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    with pytest.raises(TooManyPixels):
        decode_image(encode(photo(20, 10), "PNG"), DecodeLimits(max_pixels=199))


def test_jpeg_bomb_header_is_refused() -> None:
    data = bytearray(encode(photo(16, 16), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60_000, 60_000)
    with pytest.raises(TooManyPixels):
        decode_image(bytes(data))


def test_gif_with_many_frames_is_refused_early() -> None:
    many = gif_with_frames(200_000)
    with pytest.raises(TooManyFrames):
        decode_image(many)
    assert decode_image(gif_with_frames(5)).frames == 5
    with pytest.raises(TooManyFrames):
        decode_image(gif_with_frames(5), DecodeLimits(max_frames=4))


def test_multi_page_tiff_frames_are_limited() -> None:
    buffer = io.BytesIO()
    pages = [photo(8, 8, seed=s) for s in range(3)]
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:])
    assert decode_image(buffer.getvalue()).frames == 3
    with pytest.raises(TooManyFrames):
        decode_image(buffer.getvalue(), DecodeLimits(max_frames=2))


def test_animated_webp_frames_are_limited() -> None:
    buffer = io.BytesIO()
    pages = [photo(8, 8, seed=s) for s in range(3)]
    pages[0].save(buffer, "WEBP", save_all=True, append_images=pages[1:])
    with pytest.raises(TooManyFrames):
        decode_image(buffer.getvalue(), DecodeLimits(max_frames=2))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_bytes": 0},
        {"max_pixels": -1},
        {"max_frames": True},
        {"background": (0, 0, 256)},
        {"max_scans": 0},
        {"max_memory": 1.5},
        {"max_scan_pixels": 0},
    ],
)
def test_limits_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be"):
        DecodeLimits(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=150)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_only_ever_raise_decode_errors(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_image(data)


@settings(max_examples=60)
@given(st.data())
def test_mutated_images_only_ever_raise_decode_errors(data: st.DataObject) -> None:
    fmt = data.draw(st.sampled_from(["JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP"]))
    original = bytearray(encode(photo(24, 16, seed=1), fmt))
    for _ in range(data.draw(st.integers(1, 8))):
        index = data.draw(st.integers(0, len(original) - 1))
        original[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(original)))
    try:
        decoded = decode_image(bytes(original[:cut]))
    except DecodeError:
        return
    assert decoded.image.mode == "RGB"


# --- the memory budget and the scan cap (issue 10, section 3) ----------------------------


def refused_quickly(
    data: bytes, error: type[DecodeError], limits: DecodeLimits | None = None
) -> str:
    """Decode ``data`` through ``hash_image``; it must raise ``error`` from the header (a
    generous bound: the refusal takes milliseconds, the decode took seconds to minutes)."""
    start = time.perf_counter()
    with pytest.raises(error) as caught:
        hash_image(data, limits=limits or DecodeLimits())
    assert time.perf_counter() - start < 5.0
    return str(caught.value)


def test_gif_logical_screen_is_the_canvas_of_the_budget() -> None:
    # 35 bytes, a 1x1 frame on an 8000x8000 screen: 64 Mpx passes the pixel limit, but
    # Pillow would allocate the whole screen (about 1 GB with the RGB copies).
    gif = gif_with_logical_screen(8000, 8000)
    assert len(gif) < 50
    message = refused_quickly(gif, DecodeMemoryExceeded)
    assert "8000x8000" in message
    assert issubclass(DecodeMemoryExceeded, LimitExceeded)
    # The same frame on a small screen is an ordinary picture.
    small = decode_image(gif_with_logical_screen(4, 4))
    assert (small.width, small.height) == (4, 4)


def test_sixteen_bit_rgba_png_at_the_pixel_limit_is_refused_from_its_header() -> None:
    png = png_rgba16(8192, 8192, level=1)  # 2**26 pixels: exactly max_pixels
    assert len(png) < 3_000_000
    tracemalloc.start()
    try:
        refused_quickly(png, DecodeMemoryExceeded)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000 + len(png)


def test_progressive_jpeg_with_many_scans_is_refused_before_decoding() -> None:
    bomb = progressive_jpeg_with_scans(1000, side=1024)
    message = refused_quickly(bomb, TooManyScans)
    assert "more than 100 scans" in message
    honest = progressive_jpeg_with_scans(0, side=64)  # libjpeg's own script
    assert decode_image(honest).format == "JPEG"
    scans = honest.count(b"\xff\xda")
    assert 2 <= scans <= 12
    assert decode_image(honest, DecodeLimits(max_scans=scans)).format == "JPEG"
    with pytest.raises(TooManyScans):
        decode_image(honest, DecodeLimits(max_scans=scans - 1))


def test_scans_are_budgeted_by_the_pixels_they_walk() -> None:
    # 100 scans pass the count, but over 6000x6000 pixels libjpeg would walk 3.6 billion
    # of them: seconds of CPU from 150 KB. The same scans over a small picture are fine.
    big = progressive_jpeg_with_scans(100, side=6000)
    message = refused_quickly(big, TooManyScans)
    assert "7 scans" in message  # 2**28 // 36e6
    small = progressive_jpeg_with_scans(100, side=256)
    assert decode_image(small).width == 256
    with pytest.raises(TooManyScans):
        decode_image(small, DecodeLimits(max_scan_pixels=256 * 256 * 50))


def test_scan_markers_inside_header_segments_are_not_counted() -> None:
    # 300 "FF DA" byte pairs inside a comment: not scans (libjpeg skips the segment by its
    # length), so the precise walk accepts the file the cheap count would suspect.
    honest = encode(photo(32, 32), "JPEG")
    comment = b"\xff\xda" * 300
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    data = honest[:2] + segment + honest[2:]
    assert data.count(b"\xff\xda") > 300
    assert decode_image(data).width == 32


def test_progressive_coefficient_buffer_counts_in_the_budget() -> None:
    # libjpeg keeps every coefficient of a progressive picture (2 bytes per sample) even
    # when it outputs 1/8 of it; a baseline picture of the same size needs no such buffer.
    progressive = progressive_jpeg_with_scans(0, side=2048)
    baseline = io.BytesIO()
    Image.new("L", (2048, 2048), 128).save(baseline, "JPEG")
    tight = DecodeLimits(max_memory=4 * 1024 * 1024)
    assert hash_image(baseline.getvalue(), limits=tight).width == 2048
    with pytest.raises(DecodeMemoryExceeded):
        hash_image(progressive, limits=tight)
    assert hash_image(progressive).width == 2048


def test_budget_boundary_is_exact_and_counts_mode_and_caller() -> None:
    rgb = encode(photo(100, 50), "PNG")
    need = estimate_decode_bytes(5000, "RGB")
    assert decode_image(rgb, DecodeLimits(max_memory=need)).width == 100
    with pytest.raises(DecodeMemoryExceeded):
        decode_image(rgb, DecodeLimits(max_memory=need - 1))
    # What the caller adds per pixel counts too (hash_image passes its hashing cost).
    with pytest.raises(DecodeMemoryExceeded):
        decode_image(rgb, DecodeLimits(max_memory=need), extra_bytes_per_pixel=100)
    with pytest.raises(ValueError, match="negative"):
        decode_image(rgb, extra_bytes_per_pixel=-1)


def test_estimate_follows_mode_depth_and_alpha() -> None:
    px = 1000
    rgb = estimate_decode_bytes(px, "RGB")
    assert estimate_decode_bytes(px, "RGBA") > rgb
    assert estimate_decode_bytes(px, "P", transparency=True) > estimate_decode_bytes(px, "P")
    assert estimate_decode_bytes(px, "I;16") > estimate_decode_bytes(px, "L")
    assert estimate_decode_bytes(px, "RGB", fmt="WEBP") > rgb
    assert estimate_decode_bytes(px, "L", extra_bytes_per_pixel=13) == px * 17
    assert estimate_decode_bytes(2 * px, "RGBA") == 2 * estimate_decode_bytes(px, "RGBA")


def test_check_image_makes_the_header_checks_without_decoding() -> None:
    from hashes.decode import check_image

    check_image(encode(photo(40, 30), "PNG"))
    check_image(encode(photo(40, 30), "PNG")[:60])  # damaged pixel data: only a decode sees it
    check_image(gif_with_logical_screen())  # 384 MiB to decode alone: within 512 MiB
    with pytest.raises(DecodeMemoryExceeded):
        check_image(gif_with_logical_screen(), extra_bytes_per_pixel=13)  # and to hash
    with pytest.raises(TooManyScans):
        check_image(progressive_jpeg_with_scans(1000, side=1024))
    with pytest.raises(EmptyInput):
        check_image(b"")
    with pytest.raises(UnsupportedFormat):
        check_image(b"not an image")
