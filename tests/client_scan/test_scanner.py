"""On-device scanning: matches, low quality, offline, verified and atomic list updates."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import nacl.signing
import pytest

from client_scan.errors import ListUpdateRejected
from client_scan.scanner import Scanner
from hashes.errors import (
    ChainBroken,
    CorruptImage,
    ListFormatError,
    ListRollback,
    UnknownSigner,
)
from hashes.lists import TrustPolicy, build_list, load_list, sign_list
from hashes.values import Algorithm, HashValue

CURATOR = nacl.signing.SigningKey(hashlib.sha256(b"curator").digest())
STRANGER = nacl.signing.SigningKey(hashlib.sha256(b"stranger").digest())
POLICY = TrustPolicy({"curator": bytes(CURATOR.verify_key)})

KNOWN = b"a known bad file"
PHASH_OF: dict[bytes, HashValue] = {
    b"near": HashValue(Algorithm.PHASH, bytes.fromhex("ffff0000ffff0003")),
    b"far": HashValue(Algorithm.PHASH, bytes.fromhex("0000ffff0000ffff")),
    b"flat": HashValue(Algorithm.PHASH, bytes.fromhex("ffff0000ffff0000")),
}


@dataclass(frozen=True)
class FakeOutcome:
    hashes: Mapping[Algorithm, HashValue]
    low_quality: bool


def fake_hasher(data: bytes, algorithms: Sequence[Algorithm]) -> FakeOutcome:
    if data not in PHASH_OF:
        raise CorruptImage("not an image")
    return FakeOutcome({Algorithm.PHASH: PHASH_OF[data]}, low_quality=data == b"flat")


def sha_list(version: int = 1, previous: bytes | None = None, entries: int = 1) -> bytes:
    digests = [hashlib.sha256(KNOWN).digest()] + [
        hashlib.sha256(bytes([i])).digest() for i in range(entries - 1)
    ]
    hash_list = build_list(
        list_id="sha-list",
        version=version,
        issued_at_ms=version,
        algorithm=Algorithm.SHA256,
        threshold=0,
        categories=["csam", "terror"],
        hashes=[HashValue(Algorithm.SHA256, d) for d in digests],
        entry_categories=[1] * len(digests),
        entry_ids=[f"e{i}" for i in range(len(digests))],
        previous_digest=previous,
    )
    return sign_list(hash_list, CURATOR)


def phash_list(key: nacl.signing.SigningKey = CURATOR) -> bytes:
    hash_list = build_list(
        list_id="phash-list",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PHASH,
        threshold=8,
        categories=["ncii"],
        hashes=[HashValue(Algorithm.PHASH, bytes.fromhex("ffff0000ffff0000"))],
        entry_categories=[0],
    )
    return sign_list(hash_list, key)


def scanner() -> Scanner:
    s = Scanner(POLICY, hasher=fake_hasher)
    s.load_list(sha_list())
    s.load_list(phash_list())
    return s


def test_matches_name_list_version_category_and_distance() -> None:
    s = scanner()
    (match,) = s.scan(b"near").matches
    assert (match.list_id, match.list_version, match.category, match.distance) == (
        "phash-list",
        1,
        "ncii",
        2,
    )
    assert s.scan(b"far").matches == ()
    exact = s.scan(b"flat")
    assert exact.low_quality
    assert exact.matches[0].distance == 0


def test_byte_hash_lists_match_any_file_and_hints_carry_the_digest() -> None:
    s = Scanner(POLICY, hasher=fake_hasher)
    s.load_list(sha_list())
    result = s.scan(KNOWN)  # not an image: byte hashes need no decoding
    (match,) = result.matches
    assert (match.category, match.entry_id, match.algorithm) == ("terror", "e0", Algorithm.SHA256)
    assert result.sha256 == hashlib.sha256(KNOWN).hexdigest()
    assert result.hints() == [
        {
            "sha256": result.sha256,
            "list_id": "sha-list",
            "list_version": 1,
            "category": "terror",
            "algorithm": "sha256",
            "distance": 0,
            "entry_id": "e0",
        }
    ]
    assert not s.scan(b"other bytes").matched


def test_undecodable_bytes_say_why_and_still_meet_byte_hash_lists() -> None:
    s = scanner()
    garbage = s.scan(b"garbage")
    assert garbage.decode_error is not None
    assert garbage.decode_error.startswith("CorruptImage")
    assert not garbage.matched
    known = s.scan(KNOWN)
    assert known.decode_error is not None
    assert [m.list_id for m in known.matches] == ["sha-list"]
    assert s.scan(b"near").decode_error is None


def test_scanning_is_offline(no_network: list[object]) -> None:
    s = scanner()
    assert s.scan(b"near").matched
    assert s.scan(KNOWN).matched
    s.load_list(sha_list(version=2, previous=s.lists["sha-list"].digest))
    assert no_network == []


def test_scanning_opens_no_socket_even_with_the_default_engines(no_network: list[object]) -> None:
    s = Scanner(POLICY)  # default matcher from hashes.matching
    s.load_list(sha_list())
    assert s.scan(KNOWN).matched
    assert no_network == []


def test_rejected_updates_leave_the_old_list_in_place() -> None:
    s = scanner()
    v1 = s.lists["sha-list"]
    v2_bytes = sha_list(version=2, previous=v1.digest, entries=3)
    s.load_list(v2_bytes)
    assert s.trusted_states["sha-list"].version == 2
    cases: list[tuple[bytes, type[Exception]]] = [
        (sha_list(version=1), ListRollback),  # rollback to v1
        (sha_list(version=3, previous=b"\x00" * 32), ChainBroken),  # fork
        (phash_list(STRANGER), UnknownSigner),  # untrusted curator
        (v2_bytes[:-10], ListFormatError),  # truncated
    ]
    for data, cause in cases:
        with pytest.raises(ListUpdateRejected) as info:
            s.load_list(data)
        assert isinstance(info.value.__cause__, cause)
        assert s.lists["sha-list"].header.version == 2
        assert s.scan(KNOWN).matches[0].list_version == 2
    assert s.lists["phash-list"].header.version == 1


def test_rollback_is_refused_after_a_restart() -> None:
    first = Scanner(POLICY, hasher=fake_hasher)
    first.load_list(sha_list())
    first.load_list(sha_list(version=2, previous=first.lists["sha-list"].digest))
    remembered = first.trusted_states.values()
    restarted = Scanner(POLICY, hasher=fake_hasher, trusted=remembered)
    with pytest.raises(ListUpdateRejected):
        restarted.load_list(sha_list(version=1))
    assert restarted.lists == {}


def test_the_saved_trusted_states_mapping_restarts_a_scanner() -> None:
    """docs/client.md saves ``scanner.trusted_states`` (a mapping) and passes it back."""
    first = Scanner(POLICY, hasher=fake_hasher)
    first.load_list(sha_list())
    first.load_list(sha_list(version=2, previous=first.lists["sha-list"].digest))
    saved_states = first.trusted_states
    restarted = Scanner(POLICY, hasher=fake_hasher, trusted=saved_states)
    assert restarted.trusted_states == saved_states
    with pytest.raises(ListUpdateRejected):
        restarted.load_list(sha_list(version=1))


def test_readers_never_see_a_half_updated_state() -> None:
    """While one thread swaps list versions, every scan sees one whole version: the
    match's version always equals the version whose entry count it saw."""
    s = Scanner(POLICY, hasher=fake_hasher)
    s.load_list(sha_list())
    chain = [sha_list()]
    for v in range(2, 30):
        prev = load_list(chain[-1], POLICY).digest
        chain.append(sha_list(version=v, previous=prev, entries=v))
    errors: list[str] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            result = s.scan(KNOWN)
            state = s.lists["sha-list"]
            if len(result.matches) != 1:
                errors.append(f"saw {len(result.matches)} matches")
            if result.matches and result.matches[0].list_version > state.header.version:
                errors.append("match from a version newer than the state read after it")

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for data in chain[1:]:
        s.load_list(data)
    done.set()
    for t in threads:
        t.join()
    assert errors == []
    assert s.lists["sha-list"].header.version == 29


def _photo(size: int = 256, quality: int = 90) -> bytes:
    """A synthetic picture with structure (gradients and shapes), as JPEG."""
    import io

    import numpy as np
    from PIL import Image, ImageDraw

    y, x = np.mgrid[0:size, 0:size]
    pixels = np.stack([x % 256, y % 256, (x * y // 64) % 256], axis=-1).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 60, 180, 200), fill=(250, 20, 20))
    draw.rectangle((150, 20, 230, 120), fill=(10, 10, 240))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_real_pictures_match_a_pdq_list_after_recompression_offline(
    no_network: list[object],
) -> None:
    from hashes.compute import hash_image

    original = _photo()
    listed = hash_image(original, [Algorithm.PDQ]).hashes[Algorithm.PDQ]
    hash_list = build_list(
        list_id="pdq-list",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=["csam"],
        hashes=[listed],
        entry_categories=[0],
    )
    s = Scanner(POLICY)  # the default engines: hashes.compute and hashes.matching
    s.load_list(sign_list(hash_list, CURATOR))
    recompressed = s.scan(_photo(quality=40))
    assert recompressed.matched
    assert recompressed.matches[0].distance <= 31
    assert recompressed.decode_error is None
    assert not s.scan(KNOWN).matched  # not a picture: no crash, a reason
    assert s.scan(KNOWN).decode_error is not None
    assert no_network == []


def test_hostile_pictures_are_refused_on_the_device_with_a_reason() -> None:
    # The default hasher budgets every decode from its header in-process (a device may not
    # start processes); a desktop app can hand in a sandbox's hasher for hard limits too.
    from hashes.sandbox import HashSandbox
    from tests.hashes.hostile_media import gif_with_logical_screen, progressive_jpeg_with_scans

    gif = gif_with_logical_screen()
    jpeg = progressive_jpeg_with_scans(1000, side=1024)
    on_device = Scanner(POLICY)
    with HashSandbox(workers=1, timeout_s=10.0) as sandbox:
        sandboxed = Scanner(POLICY, hasher=sandbox.hash_image)
        for s in (on_device, sandboxed):
            s.load_list(sha_list())
            s.load_list(phash_list())
            screen = s.scan(gif)
            assert screen.decode_error is not None
            assert screen.decode_error.startswith("DecodeMemoryExceeded")
            scans = s.scan(jpeg)
            assert scans.decode_error is not None
            assert scans.decode_error.startswith("TooManyScans")
    assert on_device.scan(KNOWN).matched  # byte lists still work


def _real_photo_jpeg(transform: object = None) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    picture = Image.fromarray(rng.integers(0, 256, (18, 24, 3), dtype=np.uint8)).resize(
        (640, 480), Image.Resampling.BICUBIC
    )
    if callable(transform):
        picture = transform(picture)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def test_the_default_scanner_finds_mirrored_rotated_and_letterboxed_copies() -> None:
    """Regression (issue 15): the scanner matched the original orientation only."""
    from PIL import Image, ImageOps

    from hashes.compute import hash_image

    listed = hash_image(_real_photo_jpeg(), [Algorithm.PDQ])[Algorithm.PDQ]
    hash_list = build_list(
        list_id="pdq-list",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=["csam"],
        hashes=[listed],
        entry_categories=[0],
        entry_ids=["pic-1"],
    )
    s = Scanner(POLICY)
    s.load_list(sign_list(hash_list, CURATOR))

    def letterbox(im: Image.Image) -> Image.Image:
        canvas = Image.new("RGB", (round(im.height * 16 / 9), im.height))
        canvas.paste(im, ((canvas.width - im.width) // 2, 0))
        return canvas

    cases = {
        "original": None,
        "flipy": ImageOps.mirror,
        "flipx": ImageOps.flip,
        "rotate90": lambda im: im.transpose(Image.Transpose.ROTATE_270),
        "trimmed": letterbox,
    }
    for variant, transform in cases.items():
        result = s.scan(_real_photo_jpeg(transform))
        (match,) = result.matches
        assert (match.entry_id, match.variant) == ("pic-1", variant)
        hint = result.hints()[0]
        assert hint.get("variant", "original") == variant
    assert s.scan(_real_photo_jpeg(lambda im: im.rotate(45))).matches == ()
