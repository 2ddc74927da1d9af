"""Frame PDQs equal ThreatExchange's C++ PDQ (the ``pdqhash`` binding) bit for bit on the
same decoded frames (issue 16).

``tests/vectors/video/frames.csv`` was written by ``tools/make_video_vectors.py`` (which
needs the bench extra's ``pdqhash``): for each test video and each frame vPDQ chooses, the
SHA-256 of the decoded RGB pixels and pdqhash's hash and quality of them. The videos are
stored beside it (a few KB each; encoding them afresh at test time sometimes gave other
bytes on a loaded machine), decoded here again; the pixels must be the same (else the
decoder changed and the vectors must be remade) and our PDQ must give pdqhash's bits.
"""

from __future__ import annotations

import csv
import functools
import hashlib
from pathlib import Path

import pytest

from hashes.video import hash_video
from hashes.video._decode import decode_frames, open_video
from hashes.video.compute import frame_interval
from hashes.video.limits import DEFAULT_VIDEO_LIMITS

VIDEOS = Path(__file__).resolve().parents[1] / "vectors" / "video"
VECTORS = VIDEOS / "frames.csv"
ROWS = list(csv.DictReader(VECTORS.read_text().splitlines()))
NAMES = ("scene-h264.mp4", "scene-vp9.webm", "scene-mpeg4.avi", "pattern-h264-30fps.mp4")


@functools.cache
def videos() -> dict[str, bytes]:
    return {name: (VIDEOS / name).read_bytes() for name in NAMES}


def test_the_vectors_cover_every_conformance_video() -> None:
    assert {row["video"] for row in ROWS} == set(videos()) == set(NAMES)
    assert len(ROWS) >= 20


@pytest.mark.parametrize("name", NAMES)
def test_frame_pdq_equals_pdqhash_on_the_same_pixels(name: str) -> None:
    rows = [row for row in ROWS if row["video"] == name]
    data = videos()[name]
    opened = open_video(data, DEFAULT_VIDEO_LIMITS)
    try:
        every = frame_interval(opened.info.fps, 1.0)
        pixels = {
            d.number: d.rgb()
            for d in decode_frames(opened, DEFAULT_VIDEO_LIMITS)
            if d.number % every == 0
        }
    finally:
        opened.close()
    assert sorted(pixels) == [int(row["frame_number"]) for row in rows]
    for row in rows:
        frame = pixels[int(row["frame_number"])]
        assert hashlib.sha256(frame.tobytes()).hexdigest() == row["rgb_sha256"]
    video = hash_video(data)
    assert [(f.frame_number, f.pdq.hex, f.quality) for f in video.frames] == [
        (int(row["frame_number"]), row["pdq"], int(row["pdq_quality"])) for row in rows
    ]
