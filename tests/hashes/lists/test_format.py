"""The list file format: round trips, exact layout, and malformed files."""

from __future__ import annotations

import hashlib
import struct

import nacl.signing
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import AlgorithmMismatch, ListFormatError, ListTruncated
from hashes.lists import HashList, build_list, parse_list, sign_list
from hashes.lists.format import MAGIC, SIGNATURE_MAGIC, encode_body
from hashes.values import Algorithm, HashValue

from .list_helpers import curator_key, make_list


@pytest.fixture
def small_list() -> HashList:
    return make_list()


def _same(a: HashList, b: HashList) -> None:
    assert a.header == b.header
    assert a.digest == b.digest
    np.testing.assert_array_equal(a.hashes, b.hashes)
    np.testing.assert_array_equal(a.categories, b.categories)
    assert [a.entry_id(i) for i in range(len(a))] == [b.entry_id(i) for i in range(len(b))]


@given(
    n=st.integers(0, 30),
    algorithm=st.sampled_from(list(Algorithm)),
    ids=st.booleans(),
    seed=st.integers(0, 1000),
    chained=st.booleans(),
)
def test_round_trip(n: int, algorithm: Algorithm, ids: bool, seed: int, chained: bool) -> None:
    built = make_list(
        n=n,
        algorithm=algorithm,
        ids=ids,
        seed=seed,
        previous_digest=b"\x07" * 32 if chained else None,
    )
    parsed, stored = parse_list(built.to_bytes())
    _same(built, parsed)
    assert stored == built.digest
    assert parsed.signatures == ()


def test_digest_is_sha256_of_body(small_list: HashList) -> None:
    assert small_list.digest == hashlib.sha256(encode_body(small_list)).digest()
    data = small_list.to_bytes()
    body = encode_body(small_list)
    assert data.startswith(body)
    assert data[len(body) :] == SIGNATURE_MAGIC + small_list.digest + b"\x00\x00"


def test_exact_layout_of_a_tiny_list() -> None:
    """Pins the byte layout documented in docs/lists.md."""
    built = build_list(
        list_id="L",
        version=2,
        issued_at_ms=5,
        algorithm=Algorithm.PHASH,
        threshold=10,
        categories=("a", "bc"),
        hashes=[HashValue.from_hex(Algorithm.PHASH, "00112233445566ff")],
        entry_categories=[1],
        entry_ids=["x9"],
        previous_digest=b"\x01" * 32,
    )
    expected = (
        MAGIC
        + struct.pack(">HH", 1, 1)
        + b"\x05phash"
        + struct.pack(">HHQQQ", 64, 10, 1, 2, 5)
        + b"\x00\x01L"
        + b"\x20"
        + b"\x01" * 32
        + b"\x00\x02"
        + b"\x01a\x02bc"
        + bytes.fromhex("00112233445566ff")
        + b"\x00\x01"
        + struct.pack(">II", 0, 2)
        + b"x9"
    )
    assert encode_body(built) == expected
    assert built.digest == hashlib.sha256(expected).digest()


def test_entries(small_list: HashList) -> None:
    e = small_list.entry(1)
    assert e.hash.algorithm is Algorithm.PDQ
    assert e.hash.digest == small_list.hashes[1].tobytes()
    assert e.category == small_list.header.categories[int(small_list.categories[1])]
    assert e.entry_id == "e1"
    assert small_list.entry(0).entry_id is None
    assert small_list.has_entry_ids
    with pytest.raises(IndexError):
        small_list.entry(len(small_list))
    with pytest.raises(IndexError):
        small_list.entry(-1)
    no_ids = make_list(ids=False)
    assert not no_ids.has_entry_ids
    assert no_ids.entry(3).entry_id is None


def test_arrays_are_read_only(small_list: HashList) -> None:
    parsed, _ = parse_list(small_list.to_bytes())
    for arr in (small_list.hashes, small_list.categories, parsed.hashes, parsed.categories):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1


def test_hash_values_are_accepted_and_checked() -> None:
    pdq = HashValue(Algorithm.PDQ, bytes(32))
    with pytest.raises(AlgorithmMismatch):
        build_list(
            list_id="x",
            version=1,
            issued_at_ms=0,
            algorithm=Algorithm.PHASH,
            threshold=1,
            categories=("a",),
            hashes=[pdq],
            entry_categories=[0],
        )


@pytest.mark.parametrize(
    "change",
    [
        {"list_id": ""},
        {"list_id": "x" * 256},
        {"version": 0},
        {"version": 2**64},
        {"issued_at_ms": -1},
        {"threshold": 257},
        {"threshold": -1},
        {"categories": ("a", "a")},
        {"categories": ("a", "")},
        {"categories": ("é" * 200,)},
        {"entry_categories": [5]},
        {"entry_categories": [-1]},
        {"entry_categories": [0, 0]},
        {"entry_ids": ["x" * 256]},
        {"entry_ids": ["a", "b"]},
        {"previous_digest": b"short"},
        {"hashes": np.zeros((1, 31), dtype=np.uint8)},
        {"hashes": np.zeros((1, 32), dtype=np.int64)},
    ],
)
def test_build_refuses_bad_fields(change: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "list_id": "x",
        "version": 1,
        "issued_at_ms": 0,
        "algorithm": Algorithm.PDQ,
        "threshold": 31,
        "categories": ("a",),
        "hashes": np.zeros((1, 32), dtype=np.uint8),
        "entry_categories": [0],
        "entry_ids": None,
        "previous_digest": None,
    }
    fields.update(change)
    with pytest.raises(ListFormatError):
        build_list(**fields)  # type: ignore[arg-type]


@given(data=st.data())
def test_every_truncation_is_refused(data: st.DataObject) -> None:
    full = sign_list(make_list(n=5), curator_key(0))
    cut = data.draw(st.integers(0, len(full) - 1))
    with pytest.raises(ListTruncated):
        parse_list(full[:cut])


def test_trailing_bytes_are_refused(small_list: HashList) -> None:
    with pytest.raises(ListFormatError) as info:
        parse_list(small_list.to_bytes() + b"\x00")
    assert not isinstance(info.value, ListTruncated)


def _patched(data: bytes, offset: int, new: bytes) -> bytes:
    return data[:offset] + new + data[offset + len(new) :]


@pytest.mark.parametrize(
    ("offset", "new"),
    [
        (0, b"X"),  # magic
        (8, b"\x00\x02"),  # format version
        (10, b"\x00\x02"),  # unknown flag
        (13, b"xyz"),  # unknown algorithm name
        (16, b"\x00\x40"),  # bits do not fit the algorithm
        (18, b"\x01\x01"),  # threshold above bits
    ],
)
def test_malformed_header_fields_are_refused(offset: int, new: bytes) -> None:
    data = make_list(n=3).to_bytes()
    with pytest.raises(ListFormatError):
        parse_list(_patched(data, offset, new))


def _layout(hash_list: HashList) -> tuple[int, int]:
    """Offsets of the category indices and of the id offsets in the body."""
    body = encode_body(hash_list)
    ids_len = 4 * (len(hash_list) + 1) + len(hash_list.id_blob) if hash_list.has_entry_ids else 0
    cats_at = len(body) - ids_len - 2 * len(hash_list)
    return cats_at, cats_at + 2 * len(hash_list)


def test_category_index_out_of_range_is_refused() -> None:
    hl = make_list(n=3)
    cats_at, _ = _layout(hl)
    with pytest.raises(ListFormatError):
        parse_list(_patched(hl.to_bytes(), cats_at, b"\x00\x03"))


def test_bad_id_offsets_are_refused() -> None:
    hl = build_list(
        list_id="x",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PHASH,
        threshold=1,
        categories=("a",),
        hashes=np.zeros((2, 8), dtype=np.uint8),
        entry_categories=[0, 0],
        entry_ids=["é", "b"],
    )
    data = hl.to_bytes()
    _, ids_at = _layout(hl)
    # a decreasing offset
    with pytest.raises(ListFormatError):
        parse_list(_patched(data, ids_at + 8, struct.pack(">I", 1)))
    # an id starting inside a multi-byte character: offsets 0, 1, 3 over "é" + "b"
    with pytest.raises(ListFormatError, match="boundary"):
        parse_list(_patched(data, ids_at + 4, struct.pack(">I", 1)))
    # invalid UTF-8 in the blob
    blob_at = ids_at + 12
    with pytest.raises(ListFormatError, match="UTF-8"):
        parse_list(_patched(data, blob_at, b"\xff"))
    # a non-zero first offset
    with pytest.raises(ListFormatError):
        parse_list(_patched(data, ids_at, struct.pack(">I", 1)))


def test_large_list_is_compact_and_zero_copy() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    hl = build_list(
        list_id="big",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=("a",),
        hashes=rng.integers(0, 256, (n, 32), dtype=np.uint8),
        entry_categories=np.zeros(n, dtype=np.uint16),
    )
    data = sign_list(hl, nacl.signing.SigningKey(b"\x01" * 32))
    assert len(data) < n * 34 + 200
    parsed, _ = parse_list(data)
    assert parsed.hashes.base is not None  # a view of the file bytes, not a copy
    assert not parsed.hashes.flags.owndata


def test_public_surface_is_pinned() -> None:
    import hashes.index
    import hashes.lists
    import hashes.matching

    assert sorted(hashes.lists.__all__) == [
        "HashList",
        "ListEntry",
        "ListHeader",
        "ListSignature",
        "TrustPolicy",
        "TrustedState",
        "add_signature",
        "build_list",
        "check_fresh",
        "load_list",
        "parse_list",
        "sign_list",
        "trusted_state",
    ]
    assert sorted(hashes.index.__all__) == ["HammingIndex", "RangeHits", "brute_force_range_search"]
    assert sorted(hashes.matching.__all__) == ["Match", "Matcher", "Matchers"]
    for module in (hashes.lists, hashes.index, hashes.matching):
        for name in module.__all__:
            assert hasattr(module, name)
