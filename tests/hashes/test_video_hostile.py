"""Hostile video (issue 16, safe decoding): each crafted file gives its typed error,
within the limits, never a hang or a crash. The same files in the sandbox are in
``tests/hashes/test_sandbox_video.py``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import random
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from hashes.errors import (
    CorruptVideo,
    DecodeError,
    DecodeTimeout,
    EmptyInput,
    TooManyBytes,
    TooManyDecodedPixels,
    TooManyFrames,
    TooManyPixels,
    TooManyStreams,
    UnsupportedFormat,
    VideoTooLong,
)
from hashes.video import VideoLimits, hash_video, keyframes
from tests.hashes import video_support as vs
from tests.hashes.video_hostile import (
    huge_declared_mpeg2,
    many_streams,
    packets_overwritten,
    still_frames_bomb,
)


@functools.cache
def stripes_mp4() -> bytes:
    return vs.encode(vs.pattern_frames(100))


def test_empty_and_oversized_input_are_refused_before_parsing() -> None:
    with pytest.raises(EmptyInput):
        hash_video(b"")
    with pytest.raises(TooManyBytes):
        hash_video(stripes_mp4(), limits=VideoLimits(max_bytes=1000))


@pytest.mark.parametrize(
    "data",
    [
        b"not a video at all",
        bytes(random.Random(7).randrange(256) for _ in range(5000)),
        (vs.PHOTOS / "aaa-orig.jpg").read_bytes(),
        (vs.MISC / "c.png").read_bytes(),
        b"#EXTM3U\n#EXT-X-TARGETDURATION:1\nhttp://127.0.0.1:9/x.ts\n",
        b"ffconcat version 1.0\nfile /etc/passwd\n",
    ],
)
def test_non_video_bytes_are_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedFormat):
        hash_video(data)


def test_huge_declared_dimensions_are_refused_before_a_frame_is_allocated() -> None:
    data = huge_declared_mpeg2()  # 4095 x 4095 declared, 16.8 Mpx a frame
    started = time.monotonic()
    with pytest.raises(TooManyPixels):
        hash_video(data)
    assert time.monotonic() - started < 5
    # With a limit above it, the same file is read (its frames are small): the refusal
    # came from the declaration.
    with pytest.raises(DecodeError):
        hash_video(data, limits=VideoLimits(max_frame_pixels=4095 * 4095))


def test_declared_frame_size_over_the_limit() -> None:
    with pytest.raises(TooManyPixels):
        hash_video(stripes_mp4(), limits=VideoLimits(max_frame_pixels=64 * 47))


def test_too_many_frames_declared_or_decoded() -> None:
    with pytest.raises(TooManyFrames, match="declares 100"):
        hash_video(stripes_mp4(), limits=VideoLimits(max_frames=30))
    # MPEG-TS declares no frame count: the count while decoding stops it.
    ts = vs.encode(vs.pattern_frames(100), container="mpegts")
    with pytest.raises(TooManyFrames, match="more than 30"):
        hash_video(ts, limits=VideoLimits(max_frames=30))


def test_too_long() -> None:
    with pytest.raises(VideoTooLong, match="declares"):
        hash_video(stripes_mp4(), limits=VideoLimits(max_duration_s=2))


def test_a_highly_compressible_stream_is_stopped_by_what_it_decodes_to() -> None:
    bomb = still_frames_bomb()  # 60 s of 640x480, a few tens of kilobytes
    assert len(bomb) < 64 * 1024
    with pytest.raises(TooManyDecodedPixels):
        hash_video(bomb, limits=VideoLimits(max_decoded_pixels=50_000_000))


def test_many_streams_are_refused() -> None:
    data = many_streams(20)
    with pytest.raises(TooManyStreams):
        hash_video(data)
    assert hash_video(data, limits=VideoLimits(max_streams=20)).frames


def test_truncated_and_corrupt_files_give_corrupt_video() -> None:
    data = stripes_mp4()
    with pytest.raises(CorruptVideo):
        hash_video(data[: len(data) // 2])  # the index (moov) is at the end
    with pytest.raises(CorruptVideo):
        hash_video(packets_overwritten(data, seed=1))


@pytest.mark.parametrize("seed", range(40))
def test_random_damage_gives_a_hash_or_a_typed_error(seed: int) -> None:
    rng = random.Random(seed)
    data = bytearray(vs.encode(vs.pattern_frames(30), container=rng.choice(["mp4", "matroska"])))
    for _ in range(rng.randrange(1, 40)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    if rng.random() < 0.3:
        del data[rng.randrange(len(data)) :]
    started = time.monotonic()
    with contextlib.suppress(DecodeError):
        hash_video(bytes(data))
    # Damage never stalls the decoder until its 600 s wall-clock limit (a bound, not a
    # measurement: a healthy decode takes well under a second, several on a loaded box).
    assert time.monotonic() - started < 60


def test_wall_clock_limit_is_checked_between_frames() -> None:
    ticks = iter(range(0, 10**6, 100))
    with pytest.raises(DecodeTimeout):
        hash_video(stripes_mp4(), clock=lambda: float(next(ticks)))
    with pytest.raises(DecodeTimeout):
        keyframes(stripes_mp4(), clock=lambda: float(next(ticks)))


def test_frames_of_a_disallowed_codec_are_refused() -> None:
    data = vs.encode(vs.pattern_frames(10), container="avi", codec="mpeg4")
    with pytest.raises(UnsupportedFormat, match="mpeg4"):
        hash_video(data, limits=VideoLimits(codecs=frozenset({"h264"})))
    assert hash_video(data).frames


def test_black_frames_bomb_is_small_and_real() -> None:
    frames = [np.zeros((48, 64, 3), np.uint8)] * 3
    assert hash_video(vs.encode(frames)).frames[0].quality == 0


def test_timestamps_count_from_the_stream_start() -> None:
    # An MPEG-TS capture whose clock starts ten hours in is not ten hours long.
    out = io.BytesIO()
    with av.open(out, "w", format="mpegts") as c:
        stream = c.add_stream("libx264", rate=10)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        offset = 10 * 3600 * 10
        for i, frame in enumerate(vs.pattern_frames(30)):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = offset + i
            picture.time_base = Fraction(1, 10)
            for packet in stream.encode(picture):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    video = hash_video(out.getvalue(), limits=VideoLimits(max_duration_s=60))
    assert [f.frame_number for f in video.frames] == [0, 10, 20]
