"""Video in the hashing sandbox (issue 16): the same hash as in process, keyframes as
PNG, typed errors across the pipe, and the hard wall-clock limit on a slow video."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from hashes.errors import (
    CorruptVideo,
    DecodeTimeout,
    TooManyPixels,
    TooManyStreams,
    UnsupportedFormat,
)
from hashes.sandbox import HashSandbox
from hashes.video import VideoLimits, hash_video, keyframes
from tests.hashes import video_support as vs
from tests.hashes.video_hostile import huge_declared_mpeg2, many_streams, still_frames_bomb


@pytest.fixture(scope="module")
def sandbox() -> Iterator[HashSandbox]:
    with HashSandbox(workers=1, timeout_s=5.0, memory_bytes=384 << 20) as pool:
        yield pool.start()


def test_video_hash_and_keyframes_equal_in_process(sandbox: HashSandbox) -> None:
    data = vs.encode(vs.scene_frames())
    result = sandbox.hash_video(data, keyframes=3, timeout_s=60.0)
    assert result.hash == hash_video(data)
    pictures = [Image.open(io.BytesIO(png)) for png in result.keyframes]
    assert all(p.format == "PNG" for p in pictures)
    expected = keyframes(data, count=3)
    for got, want in zip(pictures, expected, strict=True):
        assert np.array_equal(np.asarray(got.convert("RGB")), np.asarray(want))
    assert sandbox.hash_video(data).keyframes == ()


def test_typed_errors_cross_the_pipe_and_the_worker_stays(sandbox: HashSandbox) -> None:
    pids = sandbox.worker_pids()
    with pytest.raises(TooManyPixels):
        sandbox.hash_video(huge_declared_mpeg2(), timeout_s=30.0)
    with pytest.raises(TooManyStreams):
        sandbox.hash_video(many_streams(20), timeout_s=30.0)
    with pytest.raises(UnsupportedFormat):
        sandbox.hash_video(b"GIF89a not a video", timeout_s=30.0)
    data = vs.encode(vs.pattern_frames(20))
    with pytest.raises(CorruptVideo):
        sandbox.hash_video(data[: len(data) // 2], timeout_s=30.0)
    assert sandbox.worker_pids() == pids


def test_a_slow_video_is_killed_at_the_deadline_and_the_pool_recovers() -> None:
    unlimited = VideoLimits(max_wall_s=10_000.0)
    with HashSandbox(workers=1, timeout_s=5.0) as pool:
        before = set(pool.start().worker_pids())
        with pytest.raises(DecodeTimeout):
            pool.hash_video(still_frames_bomb(seconds=120), limits=unlimited, timeout_s=0.2)
        assert not before & set(pool.worker_pids())
        small = vs.encode(vs.pattern_frames(10))
        assert pool.hash_video(small, timeout_s=60.0).hash == hash_video(small)


@pytest.mark.parametrize(
    "kwargs", [{"timeout_s": 0}, {"keyframes": 17}, {"seconds_per_hash": -1.0}]
)
def test_bad_arguments_fail_before_a_worker(sandbox: HashSandbox, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"timeout_s|keyframes|seconds_per_hash"):
        sandbox.hash_video(b"x", **kwargs)  # type: ignore[arg-type]


def test_query_variants_cross_the_pipe_and_leave_the_hash_alone(sandbox: HashSandbox) -> None:
    from hashes.video.variants import SERVICE_VIDEO_VARIANTS, hash_video_variants

    data = vs.encode(vs.letterbox(vs.scene_frames(), 30))
    result = sandbox.hash_video(data, timeout_s=60.0, variants=SERVICE_VIDEO_VARIANTS)
    assert result.hash == hash_video(data)
    local = hash_video_variants(data, SERVICE_VIDEO_VARIANTS)
    assert result.variants is not None
    assert list(result.variants) == list(local.variants)
    assert "trimmed" in result.variants
    for name, frames in local.variants.items():
        got = result.variants[name]
        assert [(f.frame_number, f.quality, f.pdq) for f in got] == [
            (f.frame_number, f.quality, f.pdq) for f in frames
        ]
    assert sandbox.hash_video(data, timeout_s=60.0).variants is None
