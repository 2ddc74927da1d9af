"""Crafted hostile videos for the safe-decoding tests (made at test time with PyAV, then
patched)."""

from __future__ import annotations

import io
import random

import av
import numpy as np

from tests.hashes import video_support as vs


def huge_declared_mpeg2() -> bytes:
    """MPEG-2 in MPEG-TS whose sequence headers declare 4095 x 4095 (the format's maximum;
    16.8 Mpx a frame) while the pictures are 64 x 48."""
    data = bytearray(vs.encode(vs.pattern_frames(20), container="mpegts", codec="mpeg2video"))
    at = 0
    patched = 0
    while (at := data.find(b"\x00\x00\x01\xb3", at)) >= 0:
        data[at + 4 : at + 7] = b"\xff\xff\xff"  # 12-bit width, 12-bit height
        patched += 1
        at += 4
    assert patched
    return bytes(data)


def still_frames_bomb(seconds: int = 60, fps: int = 10) -> bytes:
    """One still 640 x 480 picture repeated: tiny on disk, 18 Mpx a second decoded."""
    still = np.zeros((480, 640, 3), np.uint8)
    still[100:300, 200:400] = (200, 30, 30)
    return vs.encode([still] * (seconds * fps), fps=fps, crf=45)


def many_streams(count: int) -> bytes:
    """A Matroska file with ``count`` small video streams."""
    out = io.BytesIO()
    frames = vs.pattern_frames(5, (32, 24))
    with av.open(out, "w", format="matroska") as c:
        streams = []
        for _ in range(count):
            s = c.add_stream("libx264", rate=5)
            assert isinstance(s, av.VideoStream)
            s.width, s.height, s.pix_fmt = 32, 24, "yuv420p"
            s.options = {"preset": "ultrafast", "threads": "1"}
            streams.append(s)
        for s in streams:
            for f in frames:
                picture = av.VideoFrame.from_ndarray(f, format="rgb24")
                for p in s.encode(picture.reformat(format="yuv420p", threads=1)):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
    return out.getvalue()


def packets_overwritten(data: bytes, *, seed: int) -> bytes:
    """An MP4 whose media data (``mdat``) is overwritten with noise after its start."""
    damaged = bytearray(data)
    start = damaged.find(b"mdat") + 200
    rng = random.Random(seed)
    for i in range(start, min(len(damaged), start + 1300)):
        damaged[i] = rng.randrange(256)
    return bytes(damaged)
