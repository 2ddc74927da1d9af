"""Video query variants (``hashes.video.variants``): mirrored, letterboxed and off-grid
copies are found; the vPDQ that is stored and exported stays exactly vpdq's; unrelated
videos are not matched through any variant.

The videos are made at test time from the PDQ test photographs
(``tests/hashes/video_support.py``); the conformance videos are the stored vectors.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashes.lists import load_list
from hashes.lists.format import HashList
from hashes.video import VideoHash, hash_video, match_video
from hashes.video.listmatch import VideoListMatcher
from hashes.video.variants import (
    DEVICE_VIDEO_VARIANTS,
    NO_VIDEO_VARIANTS,
    SERVICE_VIDEO_VARIANTS,
    BorderBox,
    BorderPolicy,
    VideoVariantPolicy,
    dark_border,
    hash_video_variants,
    match_video_variants,
)
from tests.hashes import video_support as vs

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "video"
WIDEST = VideoVariantPolicy(dihedral=True, mirror=True, trim=True, phases=4)
SIZE = (320, 240)


@functools.cache
def frames() -> vs.Frames:
    return vs.scene_frames(size=SIZE, seconds_each=3.0)


@functools.cache
def original() -> VideoHash:
    return hash_video(vs.encode(frames()))


def mirrored(fs: vs.Frames) -> vs.Frames:
    return [np.ascontiguousarray(f[:, ::-1]) for f in fs]


def pillarbox(fs: vs.Frames, bar: int) -> vs.Frames:
    out: vs.Frames = []
    for f in fs:
        h, w = f.shape[:2]
        canvas = np.zeros((h, w + 2 * bar, 3), np.uint8)
        canvas[:, bar : bar + w] = f
        out.append(canvas)
    return out


# --- the stored vPDQ is vpdq's, whatever the variants ---------------------------------


@pytest.mark.parametrize("policy", [NO_VIDEO_VARIANTS, DEVICE_VIDEO_VARIANTS, WIDEST])
@pytest.mark.parametrize(
    "name", ["scene-h264.mp4", "scene-vp9.webm", "scene-mpeg4.avi", "pattern-h264-30fps.mp4"]
)
def test_variants_leave_the_vpdq_hash_and_its_export_unchanged(
    name: str, policy: VideoVariantPolicy
) -> None:
    data = (VECTORS / name).read_bytes()
    rows = [r for r in csv.DictReader((VECTORS / "frames.csv").read_text().splitlines())]
    pinned = [
        (int(r["frame_number"]), r["pdq"], int(r["pdq_quality"]))
        for r in rows
        if r["video"] == name
    ]
    result = hash_video_variants(data, policy)
    assert result.hash == hash_video(data)
    assert result.hash.to_vpdq() == hash_video(data).to_vpdq()
    assert result.hash.to_dict() == hash_video(data).to_dict()
    assert [(f.frame_number, f.pdq.hex, f.quality) for f in result.hash.frames] == pinned
    assert result.variants["original"] == result.hash.frames
    assert next(iter(result.variants)) == "original"


def test_no_variants_policy_gives_the_original_only() -> None:
    result = hash_video_variants(vs.encode(frames()), NO_VIDEO_VARIANTS)
    assert list(result.variants) == ["original"]
    assert result.border is None


# --- edits the variants find ----------------------------------------------------------


def test_a_mirrored_copy_is_found_and_vpdq_alone_misses_it() -> None:
    copy = vs.encode(mirrored(frames()))
    assert not match_video(hash_video(copy), original()).matched
    found = match_video_variants(hash_video_variants(copy, DEVICE_VIDEO_VARIANTS), original())
    assert found.match.matched
    assert found.variant in ("flipy", "mirrored")


def test_the_dihedral_flip_alone_finds_a_mirrored_copy_of_a_larger_video() -> None:
    big = vs.scene_frames(size=(640, 480), seconds_each=2.0)
    listed = hash_video(vs.encode(big))
    copy = vs.encode(mirrored(big))
    policy = VideoVariantPolicy(dihedral=True)
    assert not match_video(hash_video(copy), listed).matched
    found = match_video_variants(hash_video_variants(copy, policy), listed)
    assert (found.match.matched, found.variant) == (True, "flipy")


def test_a_letterboxed_copy_is_found_through_its_trimmed_frames() -> None:
    copy = vs.encode(vs.letterbox(frames(), 60))
    assert not match_video(hash_video(copy), original()).matched
    result = hash_video_variants(copy, DEVICE_VIDEO_VARIANTS)
    assert result.border is not None
    # The bars are 60 rows; the encoder's blur may take a row or two of the picture.
    assert 56 <= result.border.top <= 62
    assert 56 <= result.border.bottom <= 62
    assert (result.border.left, result.border.right) == (0, 0)
    found = match_video_variants(result, original())
    assert (found.match.matched, found.variant) == (True, "trimmed")


def test_a_pillarboxed_and_mirrored_copy_is_found() -> None:
    copy = vs.encode(mirrored(pillarbox(frames(), 80)))
    assert not match_video(hash_video(copy), original()).matched
    found = match_video_variants(hash_video_variants(copy, DEVICE_VIDEO_VARIANTS), original())
    assert found.match.matched
    assert found.variant in ("trimmed+flipy", "trimmed+mirrored")


def test_a_clip_cut_half_a_second_off_the_grid_is_found_on_the_half_step_grid() -> None:
    # 10 fps: frames 5, 15, 25, ... of the original are the clip's 0, 10, 20, ...
    clip = vs.encode(frames()[5:65])
    found = match_video_variants(hash_video_variants(clip, SERVICE_VIDEO_VARIANTS), original())
    assert found.match.matched
    assert found.variant.startswith("phase1/2") or found.variant == "original"
    half = hash_video_variants(clip, SERVICE_VIDEO_VARIANTS).variants["phase1/2"]
    assert [f.frame_number for f in half] == list(range(5, 60, 10))


def test_unrelated_videos_match_through_no_variant() -> None:
    pattern = vs.encode(vs.pattern_frames(60, size=(320, 240)), fps=10)
    others = [
        hash_video_variants(pattern, WIDEST),
        hash_video_variants(vs.encode(vs.letterbox(vs.pattern_frames(60, (320, 240)), 40)), WIDEST),
    ]
    for other in others:
        assert not match_video_variants(other, original()).match.matched
    # Each photograph's shot against the other two: no variant of one finds the others.
    per = 30
    shots = [frames()[i * per : (i + 1) * per] for i in range(3)]
    listed = [hash_video(vs.encode(s)) for s in shots]
    for i, shot in enumerate(shots):
        query = hash_video_variants(vs.encode(mirrored(shot)), WIDEST)
        for j, target in enumerate(listed):
            if i != j:
                assert not match_video_variants(query, target).match.matched


# --- list matching --------------------------------------------------------------------


def test_the_list_matcher_finds_a_mirrored_copy_and_names_the_variant() -> None:
    from tests.hashes.lists.test_video_entries import POLICY, video_list

    hash_list: HashList = load_list(video_list([original()]), POLICY, None)
    matcher = VideoListMatcher(hash_list)
    copy = vs.encode(mirrored(frames()))
    query = hash_video_variants(copy, DEVICE_VIDEO_VARIANTS)
    assert matcher.match(query.hash) == []
    found = matcher.match_variants(query.hash, query.variants)
    assert [m.position for m in found] == [0]
    assert found[0].variant in ("flipy", "mirrored")
    assert found[0].query_match_percent >= 80
    # The original itself still matches through "original", as before.
    same = matcher.match_variants(original(), {"original": original().frames})
    assert [(m.position, m.variant) for m in same] == [(0, "original")]


# --- the dark border ------------------------------------------------------------------


def _content(rng: np.random.Generator, h: int, w: int) -> npt.NDArray[np.float32]:
    return rng.uniform(80, 255, size=(h, w)).astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(
    top=st.integers(0, 30),
    bottom=st.integers(0, 30),
    left=st.integers(0, 30),
    right=st.integers(0, 30),
    seed=st.integers(0, 2**32 - 1),
)
def test_dark_border_finds_the_bars_every_frame_has(
    top: int, bottom: int, left: int, right: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    h, w = 100, 120
    lumas = []
    for _ in range(3):
        luma = np.full((h + top + bottom, w + left + right), 16.0, np.float32)
        luma[top : top + h, left : left + w] = _content(rng, h, w)
        lumas.append(luma)
    box = dark_border(lumas)
    policy = BorderPolicy()
    expected = (
        top if top >= np.ceil(policy.min_border * (h + top + bottom)) else 0,
        bottom if bottom >= np.ceil(policy.min_border * (h + top + bottom)) else 0,
        left if left >= np.ceil(policy.min_border * (w + left + right)) else 0,
        right if right >= np.ceil(policy.min_border * (w + left + right)) else 0,
    )
    if expected == (0, 0, 0, 0):
        assert box is None
    else:
        assert box == BorderBox(*expected)


def test_a_border_that_one_frame_lacks_is_no_border() -> None:
    rng = np.random.default_rng(1)
    boxed = np.full((160, 120), 0.0, np.float32)
    boxed[30:130] = _content(rng, 100, 120)
    full = _content(rng, 160, 120)
    assert dark_border([boxed, boxed]) == BorderBox(30, 30, 0, 0)
    assert dark_border([boxed, full, boxed]) is None


def test_a_dark_picture_is_not_trimmed_to_nothing() -> None:
    assert dark_border([np.full((100, 100), 10.0, np.float32)]) is None


@pytest.mark.parametrize("phases", [0, 9, True, 1.5])
def test_policy_refuses_nonsense(phases: object) -> None:
    with pytest.raises(ValueError, match="phases"):
        VideoVariantPolicy(phases=phases)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_remaining"):
        BorderPolicy(min_remaining=0)
