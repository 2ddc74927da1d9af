"""Hostile pictures crafted by hand, small on the wire and costly to decode (issue 10, §3).

Used by the decoding, sandbox and adversarial tests and by ``benchmarks/hostile_media.py``.
Each is generated (no binary fixtures) and cached per process.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib

from PIL import Image


def gif_with_logical_screen(width: int = 8000, height: int = 8000) -> bytes:
    """A GIF whose logical screen is ``width x height`` but whose one frame is 1x1.

    Pillow makes the whole screen the canvas: 35 bytes that used to cost about 1 GB.
    """
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)
    # Image descriptor at (0, 0), 1x1, with a two-entry local colour table.
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0x80) + b"\x00\x00\x00\xff\xff\xff"
    lzw = b"\x02\x02\x44\x01\x00"  # minimum code size 2, one sub-block, terminator
    return head + frame + lzw + b"\x3b"


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.lru_cache(maxsize=4)
def png_rgba16(width: int = 8192, height: int = 8192, level: int = 9) -> bytes:
    """An all-zero 16-bit RGBA PNG: 8192x8192 is 2**26 pixels (exactly the pixel limit)
    in about 522 KB, that used to cost 1.65 GB."""
    row = b"\x00" * (1 + width * 8)
    packer = zlib.compressobj(level)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", body)
        + _png_chunk(b"IEND", b"")
    )


@functools.lru_cache(maxsize=8)
def progressive_jpeg_with_scans(scans: int, side: int = 4096) -> bytes:
    """A flat grey progressive JPEG whose last (refinement) scan is repeated until the file
    holds ``scans`` scans. Each copy is about 30 bytes (end-of-band runs) but libjpeg walks
    every block of the picture for it: 10,000 scans of 4096x4096 took minutes."""
    out = io.BytesIO()
    Image.new("L", (side, side), 128).save(out, "JPEG", progressive=True, quality=90)
    data = out.getvalue()
    last = data.rfind(b"\xff\xda")
    end = data.rfind(b"\xff\xd9")
    extra = max(0, scans - data.count(b"\xff\xda"))
    return data[:end] + data[last:end] * extra + b"\xff\xd9"


def slow_jpeg_under_every_limit() -> bytes:
    """The slowest kind of JPEG the default limits admit: 100 scans (the cap) over
    1638x1638 pixels (2**28 scan-pixels, the budget). Nothing in its header refuses it,
    yet libjpeg needs about 0.09 s on a quiet core (half a second and more on a busy one):
    the sandbox's deadline and its pool of workers are what bound it."""
    return progressive_jpeg_with_scans(100, side=1638)
