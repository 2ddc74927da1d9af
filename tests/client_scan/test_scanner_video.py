"""The device scanner and video attachments (issue 16): offline vPDQ matching against the
video entries of a signed list, clips included, and hostile video refused with a reason."""

from __future__ import annotations

import functools
import hashlib

import nacl.signing
import numpy as np

from client_scan.scanner import Scanner
from hashes.lists import TrustPolicy, build_list, sign_list
from hashes.lists.format import build_video_entries
from hashes.values import Algorithm, HashValue
from hashes.video import hash_video
from tests.hashes import video_support as vs
from tests.hashes.video_hostile import many_streams

CURATOR = nacl.signing.SigningKey(hashlib.sha256(b"video curator").digest())
POLICY = TrustPolicy({"curator": bytes(CURATOR.verify_key)})


@functools.cache
def listed_video() -> bytes:
    return vs.encode(vs.scene_frames())


@functools.cache
def video_list() -> bytes:
    video = hash_video(listed_video())
    picture = HashValue(Algorithm.PDQ, bytes(range(32)))
    hash_list = build_list(
        list_id="videos",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=["csam", "terror"],
        hashes=[picture],
        entry_categories=[0],
        entry_ids=["photo"],
        videos=build_video_entries([video], [1], ["clip-42"]),
    )
    return sign_list(hash_list, CURATOR)


def scanner() -> Scanner:
    s = Scanner(POLICY)
    s.load_list(video_list())
    return s


def test_a_reencoded_clip_of_a_listed_video_warns_offline(no_network: list[object]) -> None:
    clip = vs.encode(vs.resize(vs.scene_frames()[10:45], (128, 96)), crf=33)
    result = scanner().scan(clip)
    assert result.matched
    (match,) = result.matches
    assert (match.list_id, match.category, match.entry_id, match.media) == (
        "videos",
        "terror",
        "clip-42",
        "video",
    )
    assert match.query_match_percent == 100.0
    (hint,) = result.hints()
    assert hint["algorithm"] == "vpdq"
    assert hint["media"] == "video"
    assert hint["sha256"] == hashlib.sha256(clip).hexdigest()
    assert result.decode_error is None
    assert no_network == []


def test_the_listed_file_itself_matches_exactly() -> None:
    (match,) = scanner().scan(listed_video()).matches
    assert match.algorithm is Algorithm.SHA256
    assert match.entry_id == "clip-42"


def test_an_unrelated_video_and_a_picture_do_not_match() -> None:
    s = scanner()
    assert not s.scan(vs.encode(vs.pattern_frames(30))).matched
    picture = (vs.MISC / "c.png").read_bytes()
    assert not s.scan(picture).matched


def test_hostile_video_is_refused_with_a_reason() -> None:
    result = scanner().scan(many_streams(20))
    assert not result.matched
    assert result.decode_error is not None
    assert result.decode_error.startswith("TooManyStreams")


def test_video_is_not_hashed_without_a_video_list() -> None:
    calls: list[bytes] = []

    def counting(data: bytes) -> object:
        calls.append(data)
        raise AssertionError("must not be called")

    image_only = build_list(
        list_id="images",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=["csam"],
        hashes=np.zeros((1, 32), np.uint8),
        entry_categories=[0],
    )
    s = Scanner(POLICY, video_hasher=counting)  # type: ignore[arg-type]
    s.load_list(sign_list(image_only, CURATOR))
    result = s.scan(listed_video())
    assert not result.matched
    assert calls == []


def test_a_mirrored_copy_of_a_listed_video_warns_through_a_query_variant() -> None:
    from hashes.video.variants import NO_VIDEO_VARIANTS, hash_video_variants

    big = vs.scene_frames(size=(320, 240), seconds_each=3.0)
    listed = hash_video(vs.encode(big))
    hash_list = build_list(
        list_id="videos",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=["csam"],
        hashes=[HashValue(Algorithm.PDQ, bytes(range(32)))],
        entry_categories=[0],
        videos=build_video_entries([listed], [0], ["mirror-me"]),
    )
    copy = vs.encode([np.ascontiguousarray(f[:, ::-1]) for f in big])
    s = Scanner(POLICY)  # the device's default variants
    s.load_list(sign_list(hash_list, CURATOR))
    (match,) = s.scan(copy).matches
    assert (match.entry_id, match.media) == ("mirror-me", "video")
    assert match.variant in ("flipy", "mirrored")
    (hint,) = s.scan(copy).hints()
    assert hint["variant"] == match.variant
    plain = Scanner(POLICY, video_hasher=lambda d: hash_video_variants(d, NO_VIDEO_VARIANTS))
    plain.load_list(sign_list(hash_list, CURATOR))
    assert not plain.scan(copy).matched
