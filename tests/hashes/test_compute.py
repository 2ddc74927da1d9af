"""hash_image: one decode, every hash, the fast path's drift and the exact path's conformance."""

from __future__ import annotations

import hashlib

import pytest

from hashes.compute import DEFAULT_ALGORITHMS, HashResult, hash_image
from hashes.decode import DecodeLimits
from hashes.errors import CorruptImage, EmptyInput, HashFormatError, TooManyPixels
from hashes.pdq import DIHEDRAL_NAMES
from hashes.values import Algorithm, HashValue
from tests.hashes.imaging_support import PDQ_DIR, ROWS, VectorRow, encode, photo

JPEG_ROWS = [r for r in ROWS if r.file.endswith(".jpg")]


@pytest.mark.parametrize("row", ROWS, ids=[r.file for r in ROWS])
def test_exact_path_equals_every_reference_column(row: VectorRow) -> None:
    data = row.path.read_bytes()
    result = hash_image(data, fast=False)
    assert result.hashes[Algorithm.PDQ].hex == row.pdq
    assert result.pdq_quality == row.pdq_quality
    assert result.low_quality is (row.pdq_quality < 50)
    assert result[Algorithm.PHASH] == HashValue.from_hex(Algorithm.PHASH, row.phash)
    assert result[Algorithm.DHASH] == HashValue.from_hex(Algorithm.DHASH, row.dhash)
    assert result[Algorithm.SHA256].hex == row.sha256
    assert result[Algorithm.MD5].digest == hashlib.md5(data, usedforsecurity=False).digest()
    assert (result.width, result.height) == (row.width, row.height)
    assert result.fast is False


def test_fast_path_drift_is_small_on_the_vectors() -> None:
    pdq, phash, dhash = [], [], []
    for row in JPEG_ROWS:
        data = row.path.read_bytes()
        fast = hash_image(data, fast=True)
        pdq.append(fast[Algorithm.PDQ].distance(HashValue.from_hex(Algorithm.PDQ, row.pdq)))
        phash.append(fast[Algorithm.PHASH].distance(HashValue.from_hex(Algorithm.PHASH, row.phash)))
        dhash.append(fast[Algorithm.DHASH].distance(HashValue.from_hex(Algorithm.DHASH, row.dhash)))
        assert (fast.width, fast.height) == (row.width, row.height)
        assert fast[Algorithm.SHA256].hex == row.sha256
    # The published goal (docs/hashing.md): PDQ drift mean <= 2 bits, max <= 10.
    assert sum(pdq) / len(pdq) <= 2
    assert max(pdq) <= 10
    assert max(phash) <= 4
    assert max(dhash) <= 4


def test_fast_path_does_not_depend_on_the_draft_scale() -> None:
    with (PDQ_DIR / "bridge-mods" / "aaa-orig.jpg").open("rb") as handle:
        data = handle.read()
    exact = hash_image(data, [Algorithm.PDQ], fast=False)[Algorithm.PDQ]
    fast = hash_image(data, [Algorithm.PDQ])[Algorithm.PDQ]
    assert fast.distance(exact) <= 10


def test_only_requested_algorithms_are_computed() -> None:
    data = encode(photo(), "PNG")
    result = hash_image(data, [Algorithm.SHA256, "dhash"])
    assert list(result.hashes) == [Algorithm.SHA256, Algorithm.DHASH]
    assert result.pdq_quality is None
    assert result.low_quality is False
    with pytest.raises(KeyError):
        result[Algorithm.PDQ]
    assert result.hashes[Algorithm.SHA256].digest == hashlib.sha256(data).digest()


def test_default_algorithms_and_result_dict() -> None:
    result = hash_image(encode(photo(), "JPEG"))
    assert tuple(result.hashes) == DEFAULT_ALGORITHMS
    as_dict = result.to_dict()
    assert as_dict["format"] == "JPEG"
    assert (as_dict["width"], as_dict["height"]) == (96, 64)
    for algorithm in DEFAULT_ALGORITHMS:
        assert HashValue.from_text(str(as_dict[algorithm.value])) == result[algorithm]


def test_result_is_frozen() -> None:
    result = hash_image(encode(photo(), "PNG"), [Algorithm.MD5])
    assert isinstance(result, HashResult)
    with pytest.raises(AttributeError):
        result.width = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        result.hashes[Algorithm.MD5] = result[Algorithm.MD5]  # type: ignore[index]


def test_low_quality_is_flagged() -> None:
    row = next(r for r in ROWS if r.file == "misc-images/small.jpg")
    for fast in (True, False):
        result = hash_image(row.path.read_bytes(), [Algorithm.PDQ], fast=fast)
        assert result.pdq_quality is not None
        assert result.pdq_quality < 50
        assert result.low_quality


def test_bad_algorithm_lists_are_refused() -> None:
    data = encode(photo(), "PNG")
    with pytest.raises(HashFormatError):
        hash_image(data, [])
    with pytest.raises(HashFormatError):
        hash_image(data, ["sha1"])


def test_decode_errors_propagate_typed() -> None:
    with pytest.raises(EmptyInput):
        hash_image(b"", [Algorithm.SHA256])
    data = encode(photo(), "PNG")
    with pytest.raises(CorruptImage):
        hash_image(data[:60])
    with pytest.raises(TooManyPixels):
        hash_image(encode(photo(), "PNG"), limits=DecodeLimits(max_pixels=100))


@pytest.mark.parametrize("fast", [True, False])
def test_dihedral_variants_find_the_flipped_files(fast: bool) -> None:
    dih = PDQ_DIR / "reg-test-input" / "dih"
    original = hash_image(
        (dih / "bridge-1-original.jpg").read_bytes(), [Algorithm.PDQ], fast=fast, dihedral=True
    )
    assert original.pdq_dihedral is not None
    assert tuple(original.pdq_dihedral) == DIHEDRAL_NAMES
    assert original.pdq_dihedral["original"] == original[Algorithm.PDQ]
    flipped = hash_image((dih / "bridge-6-flipy.jpg").read_bytes(), [Algorithm.PDQ], fast=fast)
    assert original[Algorithm.PDQ].distance(flipped[Algorithm.PDQ]) > 64
    assert original.pdq_dihedral["flipy"].distance(flipped[Algorithm.PDQ]) <= 16
    as_dict = original.to_dict()
    assert isinstance(as_dict["pdq_dihedral"], dict)
    assert len(as_dict["pdq_dihedral"]) == 8


def test_no_dihedral_unless_asked() -> None:
    result = hash_image(encode(photo(), "PNG"))
    assert result.pdq_dihedral is None
    assert "pdq_dihedral" not in result.to_dict()


def test_public_surface_is_pinned() -> None:
    import hashes.compute
    import hashes.decode
    import hashes.pdq
    import hashes.values

    assert sorted(hashes.values.__all__) == ["Algorithm", "HashValue"]
    assert sorted(hashes.compute.__all__) == [
        "DEFAULT_ALGORITHMS",
        "FAST_DRAFT_SIZE",
        "HASH_BYTES_PER_PIXEL",
        "HashResult",
        "hash_decoded",
        "hash_image",
    ]
    assert sorted(hashes.decode.__all__) == [
        "DEFAULT_FORMATS",
        "DEFAULT_LIMITS",
        "DecodeLimits",
        "DecodedImage",
        "check_image",
        "decode_image",
        "estimate_decode_bytes",
        "to_rgb",
    ]
    assert sorted(hashes.pdq.__all__) == [
        "DIHEDRAL_NAMES",
        "LOW_QUALITY",
        "MIN_DIMENSION",
        "pdq_dihedral",
        "pdq_dihedral_fast",
        "pdq_dihedral_fast_with_quality",
        "pdq_dihedral_with_quality",
        "pdq_hash",
        "pdq_hash_fast",
        "pdq_luma",
    ]
    for module in (hashes.values, hashes.compute, hashes.decode, hashes.pdq):
        for name in module.__all__:
            assert hasattr(module, name)
