"""Video hashing (issue 16): vPDQ frame choice, the vpdq text format, matching and clips.

The videos are made at test time from the PDQ test photographs
(``tests/hashes/video_support.py``); ``tests/hashes/test_video_conformance.py`` pins their
frames' PDQ against ThreatExchange's C++ (``pdqhash``), ``test_video_hostile.py`` the
limits.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import HashFormatError
from hashes.pdq import pdq_hash
from hashes.values import Algorithm, HashValue
from hashes.video import (
    VideoHash,
    VideoMatch,
    VpdqFrame,
    frame_interval,
    hash_video,
    keyframes,
    match_video,
)
from hashes.video._decode import decode_frames, open_video
from hashes.video.limits import DEFAULT_VIDEO_LIMITS, VideoLimits
from tests.hashes import video_support as vs


@functools.cache
def scene() -> bytes:
    return vs.encode(vs.scene_frames())


@functools.cache
def scene_hash() -> VideoHash:
    return hash_video(scene())


# --- frame choice, as vpdq's hasher makes it ------------------------------------------


def test_one_frame_a_second_every_int_fps_th_frame_with_its_timestamp() -> None:
    video = scene_hash()
    assert video.fps == 10.0
    assert [f.frame_number for f in video.frames] == [0, 10, 20, 30, 40, 50]
    assert [f.timestamp for f in video.frames] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert (video.width, video.height) == (160, 120)
    assert video.duration_s == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("fps", "seconds", "every"),
    [(30.0, 1.0, 30), (29.97, 1.0, 29), (10.0, 0.5, 5), (0.5, 1.0, 1), (25.0, 0.0, 1)],
)
def test_frame_interval_truncates_as_vpdq(fps: float, seconds: float, every: int) -> None:
    assert frame_interval(fps, seconds) == every


def test_seconds_per_hash_zero_hashes_every_frame() -> None:
    video = hash_video(scene(), seconds_per_hash=0)
    assert [f.frame_number for f in video.frames] == list(range(60))


def test_frame_hashes_are_our_pdq_of_the_decoded_rgb_frames() -> None:
    opened = open_video(scene(), DEFAULT_VIDEO_LIMITS)
    try:
        expected = {
            d.number: pdq_hash(d.rgb())
            for d in decode_frames(opened, DEFAULT_VIDEO_LIMITS)
            if d.number % 10 == 0
        }
    finally:
        opened.close()
    assert {f.frame_number: (f.pdq, f.quality) for f in scene_hash().frames} == expected


def test_file_digests_are_md5_and_sha256_of_the_bytes() -> None:
    import hashlib

    video = scene_hash()
    assert video.md5 == HashValue(
        Algorithm.MD5, hashlib.md5(scene(), usedforsecurity=False).digest()
    )
    assert video.sha256 == HashValue(Algorithm.SHA256, hashlib.sha256(scene()).digest())
    assert video.same_file(hash_video(scene()))
    other = hash_video(vs.encode(vs.scene_frames(), crf=30))
    assert not video.same_file(other)
    assert not VideoHash(video.frames).same_file(video)


def test_audio_is_ignored() -> None:
    frames = vs.pattern_frames(20)
    assert hash_video(vs.encode(frames, audio=True)).frames == hash_video(vs.encode(frames)).frames


# --- the vpdq text format ----------------------------------------------------------------

pdq_values = st.binary(min_size=32, max_size=32).map(lambda b: HashValue(Algorithm.PDQ, b))
vpdq_frames = st.builds(
    VpdqFrame,
    frame_number=st.integers(0, 10**7),
    quality=st.integers(0, 100),
    pdq=pdq_values,
    timestamp=st.integers(0, 10**7).map(lambda ms: ms / 1000),
)


@given(st.lists(vpdq_frames, max_size=30))
def test_vpdq_text_round_trips(frames: list[VpdqFrame]) -> None:
    video = VideoHash(tuple(frames))
    text = video.to_vpdq()
    assert text.count("\n") == len(frames)
    assert VideoHash.from_vpdq(text) == video


def test_vpdq_line_is_vpdqs_format() -> None:
    frame = scene_hash().frames[1]
    assert frame.to_line() == f"10,{frame.quality},{frame.pdq.hex},1.000"


@given(st.lists(vpdq_frames, max_size=5), st.floats(allow_nan=False), st.integers(1, 10**6))
def test_dict_form_round_trips(frames: list[VpdqFrame], fps: float, width: int) -> None:
    video = VideoHash(
        tuple(frames),
        md5=HashValue(Algorithm.MD5, bytes(16)),
        sha256=None,
        duration_s=12.5,
        fps=abs(fps) if abs(fps) < 1e300 else 1.0,
        width=width,
        height=7,
    )
    assert VideoHash.from_dict(video.to_dict()) == video


@pytest.mark.parametrize(
    "line",
    [
        "",
        "1,2,3",
        "1,50," + "0" * 64,
        "1,50," + "0" * 64 + ",1.0,extra",
        "-1,50," + "0" * 64 + ",1.0",
        "1,101," + "0" * 64 + ",1.0",
        "1,50," + "0" * 63 + ",1.0",
        "1,50," + "g" * 64 + ",1.0",
        "1,50," + "0" * 64 + ",nan",
        "1,50," + "0" * 64 + ",-1",
        "1,50," + "0" * 64 + ",inf",
        "x,50," + "0" * 64 + ",1.0",
        "1,50," + "0" * 64 + "," + "9" * 200,
    ],
)
def test_malformed_vpdq_lines_are_refused(line: str) -> None:
    with pytest.raises(HashFormatError):
        VpdqFrame.from_line(line)


def test_vpdq_import_is_bounded() -> None:
    line = "1,50," + "0" * 64 + ",1.000\n"
    assert len(VideoHash.from_vpdq(line * 10, max_lines=10).frames) == 10
    with pytest.raises(HashFormatError):
        VideoHash.from_vpdq(line * 11, max_lines=10)


@given(st.binary(max_size=200))
def test_vpdq_import_of_any_text_parses_or_raises_a_format_error(raw: bytes) -> None:
    with contextlib.suppress(HashFormatError):
        VideoHash.from_vpdq(raw.decode("latin-1"))


# --- matching ------------------------------------------------------------------------------


def brute(
    query: VideoHash, target: VideoHash, distance: int = 31, quality: int = 50
) -> tuple[float, float]:
    """python-threatexchange's brute matcher, restated: dedupe, then quality filter."""

    def usable(v: VideoHash) -> list[HashValue]:
        seen: list[HashValue] = []
        for f in v.frames:
            if f.pdq not in seen:
                seen.append(f.pdq)
        firsts: dict[HashValue, int] = {}
        for f in v.frames:
            firsts.setdefault(f.pdq, f.quality)
        return [h for h in seen if firsts[h] >= quality]

    q, t = usable(query), usable(target)
    if not q or not t:
        return 0.0, 0.0
    qn = sum(any(a.distance(b) <= distance for b in t) for a in q)
    tn = sum(any(a.distance(b) <= distance for b in q) for a in t)
    return qn * 100.0 / len(q), tn * 100.0 / len(t)


def near(base: HashValue, flips: list[int]) -> HashValue:
    n = int.from_bytes(base.digest, "big")
    for bit in flips:
        n ^= 1 << bit
    return HashValue(Algorithm.PDQ, n.to_bytes(32, "big"))


@st.composite
def related_videos(draw: st.DrawFn) -> tuple[VideoHash, VideoHash]:
    bases = draw(st.lists(pdq_values, min_size=1, max_size=6))

    def video() -> VideoHash:
        frames = []
        for i in range(draw(st.integers(0, 8))):
            base = draw(st.sampled_from(bases))
            flips = draw(st.lists(st.integers(0, 255), max_size=40))
            quality = draw(st.sampled_from([0, 49, 50, 100]))
            frames.append(VpdqFrame(i, quality, near(base, flips), float(i)))
        return VideoHash(tuple(frames))

    return video(), video()


@given(related_videos(), st.integers(0, 64), st.sampled_from([0, 50, 100]))
def test_match_percentages_equal_the_reference_brute_force(
    pair: tuple[VideoHash, VideoHash], distance: int, quality: int
) -> None:
    query, target = pair
    result = match_video(query, target, distance_threshold=distance, quality_threshold=quality)
    assert (result.query_match_percent, result.compared_match_percent) == pytest.approx(
        brute(query, target, distance, quality)
    )
    assert result.matched == (
        result.query_frames > 0
        and result.compared_frames > 0
        and result.query_match_percent >= 80.0
    )
    swapped = match_video(target, query, distance_threshold=distance, quality_threshold=quality)
    assert swapped.query_match_percent == pytest.approx(result.compared_match_percent)


def test_a_video_matches_itself_and_not_an_unrelated_one() -> None:
    video = scene_hash()
    assert match_video(video, video) == VideoMatch(100.0, 100.0, 6, 6, True)
    stripes = hash_video(vs.encode(vs.pattern_frames(40)))
    result = match_video(stripes, video)
    assert not result.matched
    assert result.query_match_percent == 0.0


def test_a_clip_matches_the_long_video_by_query_percentage() -> None:
    frames = vs.scene_frames()
    clip = hash_video(vs.encode(frames[20:45]))
    result = match_video(clip, scene_hash())
    assert result.matched
    assert result.query_match_percent == 100.0
    assert result.compared_match_percent < 100.0
    # The long video is not "in" the clip: with the roles swapped, most frames miss.
    assert not match_video(scene_hash(), clip).matched


def test_low_quality_frames_do_not_match() -> None:
    black = hash_video(vs.encode([np.zeros((48, 64, 3), np.uint8)] * 20))
    assert all(f.quality < 50 for f in black.frames)
    assert match_video(black, black) == VideoMatch(0.0, 0.0, 0, 0, False)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"distance_threshold": -1},
        {"distance_threshold": 257},
        {"quality_threshold": 101},
        {"query_match_percent": 100.5},
        {"compared_match_percent": float("nan")},
    ],
)
def test_thresholds_out_of_range_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="between"):
        match_video(scene_hash(), scene_hash(), **kwargs)  # type: ignore[arg-type]


# --- keyframes --------------------------------------------------------------------------


def test_keyframes_are_evenly_spaced_frames() -> None:
    pictures = keyframes(scene(), count=3)
    assert [p.size for p in pictures] == [(160, 120)] * 3
    opened = open_video(scene(), DEFAULT_VIDEO_LIMITS)
    try:
        frames = {d.number: d.rgb() for d in decode_frames(opened, DEFAULT_VIDEO_LIMITS)}
    finally:
        opened.close()
    for picture, number in zip(pictures, [10, 30, 50], strict=True):
        assert np.array_equal(np.asarray(picture), frames[number])
    assert len(keyframes(vs.encode(vs.pattern_frames(2)), count=4)) == 2
    with pytest.raises(ValueError, match="count"):
        keyframes(scene(), count=0)


def test_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="max_frames"):
        VideoLimits(max_frames=0)
    with pytest.raises(ValueError, match="max_wall_s"):
        VideoLimits(max_wall_s=float("inf"))
    with pytest.raises(ValueError, match="seconds_per_hash"):
        hash_video(scene(), seconds_per_hash=-1)


def test_frames_are_converted_at_the_declared_size() -> None:
    opened = open_video(scene(), DEFAULT_VIDEO_LIMITS)
    try:
        first = next(iter(decode_frames(opened, DEFAULT_VIDEO_LIMITS)))
        assert first.rgb().shape == (120, 160, 3)
        assert np.array_equal(first.rgb(160, 120), first.rgb())
        # A frame of another size (a mid-stream resolution change) is scaled, as vpdq does.
        assert first.rgb(80, 60).shape == (60, 80, 3)
    finally:
        opened.close()


def test_public_surface() -> None:
    import hashes.video

    assert sorted(hashes.video.__all__) == [
        "DEFAULT_CODECS",
        "DEFAULT_COMPARED_MATCH_PERCENT",
        "DEFAULT_CONTAINERS",
        "DEFAULT_DISTANCE_THRESHOLD",
        "DEFAULT_QUALITY_THRESHOLD",
        "DEFAULT_QUERY_MATCH_PERCENT",
        "DEFAULT_VIDEO_LIMITS",
        "MAX_KEYFRAMES",
        "MAX_VPDQ_LINES",
        "VideoHash",
        "VideoLimits",
        "VideoMatch",
        "VpdqFrame",
        "frame_interval",
        "hash_video",
        "keyframes",
        "looks_like_video",
        "match_video",
        "sniff_container",
    ]
    for name in hashes.video.__all__:
        assert getattr(hashes.video, name) is not None
