"""Video entries in signed lists (issue 16): format version 2 beside version 1, signatures,
tamper checks, and matching a video against the list's videos."""

from __future__ import annotations

import functools
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashes.errors import (
    HashListError,
    ListDigestMismatch,
    ListFormatError,
    ListTruncated,
    SignatureInvalid,
)
from hashes.lists import TrustPolicy, build_list, load_list, parse_list, sign_list
from hashes.lists.format import VideoEntries, build_video_entries
from hashes.values import Algorithm, HashValue
from hashes.video import VideoHash, VpdqFrame, hash_video, match_video
from hashes.video.listmatch import VideoListMatcher
from tests.hashes import video_support as vs
from tests.hashes.lists.list_helpers import curator_key, make_list

POLICY = TrustPolicy(curator_keys={"a": bytes(curator_key(0).verify_key)}, threshold=1)


@functools.cache
def scene_video() -> VideoHash:
    return hash_video(vs.encode(vs.scene_frames()))


@functools.cache
def stripes_video() -> VideoHash:
    return hash_video(vs.encode(vs.pattern_frames(40)))


def video_list(videos: list[VideoHash], **kwargs: int) -> bytes:
    entries = build_video_entries(
        videos, [i % 3 for i in range(len(videos))], [f"v{i}" for i in range(len(videos))], **kwargs
    )
    base = make_list(n=5)
    built = build_list(
        list_id="videos",
        version=1,
        issued_at_ms=1_700_000_000_000,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=base.header.categories,
        hashes=base.hashes,
        entry_categories=base.categories,
        entry_ids=[f"img{i}" for i in range(5)],
        videos=entries,
    )
    return sign_list(built, curator_key(0))


def test_lists_without_videos_are_format_version_1_byte_for_byte() -> None:
    data = sign_list(make_list(), curator_key(0))
    assert struct.unpack(">H", data[8:10]) == (1,)
    loaded = load_list(data, POLICY, None)
    assert loaded.videos is None
    assert loaded.to_bytes() == data


def test_video_entries_round_trip_and_verify() -> None:
    data = video_list([scene_video(), stripes_video()])
    assert struct.unpack(">HH", data[8:12]) == (2, 0x0003)
    loaded = load_list(data, POLICY, None)
    assert loaded.videos is not None
    assert len(loaded) == 5  # the image entries are still there
    assert len(loaded.videos) == 2
    assert loaded.videos.entry_id(1) == "v1"
    back = loaded.videos.video(0)
    assert back.sha256 == scene_video().sha256
    assert back.md5 == scene_video().md5
    # Timestamps travel in milliseconds, as vpdq's text has them.
    assert back.to_vpdq() == scene_video().to_vpdq()
    assert loaded.to_bytes() == data


def test_an_altered_video_section_is_refused() -> None:
    data = bytearray(video_list([scene_video()]))
    body_end = data.rfind(b"FRKSIG\n\x00")
    data[body_end - 40] ^= 1  # inside the video section
    with pytest.raises(ListDigestMismatch):
        load_list(bytes(data), POLICY, None)


@pytest.mark.parametrize("cut", [1, 10, 100, 300])
def test_a_truncated_video_section_is_refused(cut: int) -> None:
    data = video_list([scene_video()])
    unsigned = data[: data.rfind(b"FRKSIG\n\x00")]
    with pytest.raises((ListTruncated, ListFormatError)):
        parse_list(unsigned[:-cut] + data[len(unsigned) :])


def test_the_video_flag_and_format_version_go_together() -> None:
    data = bytearray(video_list([scene_video()]))
    data[8:10] = b"\x00\x01"  # version 1 claiming the video flag
    with pytest.raises(ListFormatError, match="version 2"):
        parse_list(bytes(data))
    plain = bytearray(sign_list(make_list(), curator_key(0)))
    plain[8:10] = b"\x00\x02"  # version 2 without a video section
    with pytest.raises(ListFormatError, match="version 2"):
        parse_list(bytes(plain))


def test_a_signature_covers_the_videos() -> None:
    data = video_list([scene_video()])
    other = video_list([stripes_video()])
    trailer = data.rfind(b"FRKSIG\n\x00")
    other_trailer = other.rfind(b"FRKSIG\n\x00")
    # The first list's signature block on the second list's body, digest fixed up.
    body = other[:other_trailer]
    import hashlib

    forged = body + b"FRKSIG\n\x00" + hashlib.sha256(body).digest() + data[trailer + 40 :]
    with pytest.raises(SignatureInvalid):
        load_list(forged, POLICY, None)


def test_hostile_counts_are_bounded_by_the_file_size() -> None:
    data = bytearray(video_list([scene_video()]))
    unsigned_end = data.rfind(b"FRKSIG\n\x00")
    # Find the video section: it starts right after the image ids.
    parsed, _ = parse_list(bytes(data))
    assert parsed.videos is not None
    section = unsigned_end - len(_video_section_bytes(parsed.videos))
    data[section : section + 8] = (2**60).to_bytes(8, "big")
    with pytest.raises(ListTruncated):
        parse_list(bytes(data))


def _video_section_bytes(videos: VideoEntries) -> bytes:
    from hashes.lists.format import _encode_videos

    return _encode_videos(videos)


# --- matching against the list -----------------------------------------------------------


def test_a_clip_and_a_reencode_match_the_listed_video() -> None:
    loaded = load_list(video_list([stripes_video(), scene_video()]), POLICY, None)
    matcher = VideoListMatcher(loaded)
    frames = vs.scene_frames()
    clip = hash_video(vs.encode(frames[20:50], crf=32))
    found = matcher.match(clip)
    assert [(m.entry_id, m.category, m.exact) for m in found] == [("v1", "terror", False)]
    assert found[0].query_match_percent == 100.0
    exact = matcher.match(scene_video())
    assert exact[0].exact
    assert exact[0].entry_id == "v1"
    unrelated = hash_video(vs.encode(vs.pattern_frames(30, (80, 60))[::-1]))
    assert "v1" not in [m.entry_id for m in matcher.match(unrelated)]


def test_the_policy_travels_with_the_list() -> None:
    strict = load_list(video_list([scene_video()], query_match_percent=100), POLICY, None)
    assert strict.videos is not None
    assert strict.videos.query_match_percent == 100
    lenient = load_list(video_list([scene_video()], distance_threshold=0), POLICY, None)
    clip = hash_video(vs.encode(vs.scene_frames()[20:50], crf=40))
    direct = match_video(clip, scene_video(), distance_threshold=0)
    found = VideoListMatcher(lenient).match(clip)
    assert bool(found) == direct.matched


pdq = st.binary(min_size=32, max_size=32).map(lambda b: HashValue(Algorithm.PDQ, b))


@st.composite
def small_videos(draw: st.DrawFn, pool: list[HashValue]) -> VideoHash:
    frames = []
    for i in range(draw(st.integers(0, 5))):
        base = int.from_bytes(draw(st.sampled_from(pool)).digest, "big")
        for bit in draw(st.lists(st.integers(0, 255), max_size=30)):
            base ^= 1 << bit
        frames.append(
            VpdqFrame(
                i,
                draw(st.sampled_from([10, 50, 90])),
                HashValue(Algorithm.PDQ, base.to_bytes(32, "big")),
                float(i),
            )
        )
    return VideoHash(tuple(frames))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_list_matching_equals_match_video_on_each_listed_video(data: st.DataObject) -> None:
    pool = data.draw(st.lists(pdq, min_size=1, max_size=4))
    listed = data.draw(st.lists(small_videos(pool), min_size=1, max_size=5))
    query = data.draw(small_videos(pool))
    percent = data.draw(st.sampled_from([0, 50, 80, 100]))
    entries = build_video_entries(listed, [0] * len(listed), query_match_percent=percent)
    hash_list = build_list(
        list_id="p",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=("c",),
        hashes=np.zeros((0, 32), np.uint8),
        entry_categories=np.zeros(0, np.int64),
        videos=entries,
    )
    got = {m.position: m for m in VideoListMatcher(hash_list).match(query)}
    for i, video in enumerate(listed):
        want = match_video(query, video, query_match_percent=float(percent))
        assert (i in got) == want.matched
        if i in got:
            assert got[i].query_match_percent == pytest.approx(want.query_match_percent)
            assert got[i].compared_match_percent == pytest.approx(want.compared_match_percent)


@functools.cache
def signed_video_list() -> bytes:
    return video_list([scene_video(), stripes_video()])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_flipping_any_byte_of_a_video_list_is_refused(data: st.DataObject) -> None:
    raw = bytearray(signed_video_list())
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(HashListError):
        load_list(bytes(raw), POLICY, None)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 4000))
def test_any_truncation_of_a_video_list_is_refused(cut: int) -> None:
    raw = signed_video_list()
    with pytest.raises(HashListError):
        load_list(raw[: max(0, len(raw) - 1 - cut)], POLICY, None)
