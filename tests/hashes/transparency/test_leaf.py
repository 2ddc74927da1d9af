"""The list-version leaf: built from a real signed list, canonical bytes, strict parsing."""

from __future__ import annotations

import dataclasses

import nacl.signing
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import LeafFormatError
from hashes.lists import build_list, parse_list, sign_list
from hashes.transparency import ListLeaf, hash_leaf, leaf_for_list, parse_leaf
from hashes.transparency.leaf import LEAF_MAGIC
from hashes.values import Algorithm

CURATORS = [nacl.signing.SigningKey(bytes([i + 1]) * 32) for i in range(3)]


def _signed(version: int = 1, previous: bytes | None = None, signers: int = 2) -> bytes:
    rng = np.random.default_rng(version)
    unsigned = build_list(
        list_id="ncmec-test",
        version=version,
        issued_at_ms=1_700_000_000_000,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=("csam", "terror"),
        hashes=rng.integers(0, 256, (7, 32), dtype=np.uint8),
        entry_categories=rng.integers(0, 2, 7),
        previous_digest=previous,
    )
    data = unsigned.to_bytes()
    for key in CURATORS[:signers]:
        data = sign_list(parse_list(data)[0], key)
    return data


def test_leaf_for_a_signed_list() -> None:
    first, _ = parse_list(_signed())
    second, _ = parse_list(_signed(2, first.digest))
    leaf = leaf_for_list(second, time_ms=1_700_000_100_000)
    assert leaf.list_id == "ncmec-test"
    assert leaf.version == 2
    assert leaf.count == 7
    assert leaf.digest == second.digest
    assert leaf.previous_digest == first.digest
    assert leaf.algorithm == "pdq"
    assert leaf.bits == 256
    assert leaf.curators == tuple(sorted(bytes(k.verify_key) for k in CURATORS[:2]))
    assert leaf.logged_at_ms == 1_700_000_100_000
    assert leaf.expires_at_ms is None
    data = leaf.to_bytes()
    assert data.startswith(LEAF_MAGIC)
    assert parse_leaf(data) == leaf
    assert leaf.leaf_hash == hash_leaf(data)
    with_expiry = leaf_for_list(second, time_ms=5, expires_at_ms=10)
    assert parse_leaf(with_expiry.to_bytes()).expires_at_ms == 10
    assert parse_leaf(leaf_for_list(first, 0).to_bytes()).previous_digest is None


def test_an_unsigned_list_has_no_leaf() -> None:
    rng = np.random.default_rng(0)
    plain = build_list(
        list_id="x",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=("csam",),
        hashes=rng.integers(0, 256, (1, 32), dtype=np.uint8),
        entry_categories=[0],
    )
    with pytest.raises(LeafFormatError):
        leaf_for_list(plain, 0)


@given(st.data())
def test_truncated_or_extended_or_changed_leaves_never_crash(data: st.DataObject) -> None:
    leaf = leaf_for_list(parse_list(_signed())[0], 1).to_bytes()
    cut = data.draw(st.integers(0, len(leaf) - 1))
    with pytest.raises(LeafFormatError):
        parse_leaf(leaf[:cut])
    with pytest.raises(LeafFormatError):
        parse_leaf(leaf + data.draw(st.binary(min_size=1, max_size=8)))
    i = data.draw(st.integers(0, len(leaf) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != leaf[i]))
    changed = leaf[:i] + bytes([value]) + leaf[i + 1 :]
    try:
        parsed = parse_leaf(changed)
    except LeafFormatError:
        return
    # A change that still parses is a different leaf, never the same one.
    assert parsed.to_bytes() == changed
    assert parsed != parse_leaf(leaf)


def test_field_validation() -> None:
    leaf = leaf_for_list(parse_list(_signed())[0], 1)
    for change in (
        {"list_id": ""},
        {"digest": b"x"},
        {"curators": ()},
        {"curators": tuple(reversed(leaf.curators))},
        {"curators": (leaf.curators[0], leaf.curators[0])},
        {"version": -1},
        {"count": 2**64},
        {"bits": 70000},
        {"expires_at_ms": 0},
        {"previous_digest": b"short"},
    ):
        with pytest.raises(LeafFormatError):
            dataclasses.replace(leaf, **change)
    assert isinstance(leaf, ListLeaf)
