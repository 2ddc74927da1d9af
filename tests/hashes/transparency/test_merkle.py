"""RFC 6962 tree hashing and proofs: published vectors, a naive second implementation, and
hypothesis properties (every proof verifies, every tampered proof fails)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import (
    ConsistencyProofInvalid,
    InclusionProofInvalid,
    ProofInvalid,
    ProofRangeError,
)
from hashes.transparency.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    hash_children,
    hash_leaf,
    inclusion_proof,
    memory_reader,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

from . import naive_merkle as naive

VECTORS = Path(__file__).parents[2] / "vectors" / "transparency"
# The one case where we are stricter than transparency-dev (see the vectors' README).
STRICTER = {"testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"}


def _load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((VECTORS / name).read_text())
    return data


def _b64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def _proof(items: list[str] | None) -> list[bytes]:
    return [_b64(p) for p in items or []]


@pytest.mark.parametrize("case", _load("inclusion.json"), ids=lambda c: c["file"])
def test_inclusion_vectors(case: dict[str, Any]) -> None:
    args = (case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), _proof(case["proof"]))
    if case["wantErr"]:
        with pytest.raises(InclusionProofInvalid):
            verify_inclusion(*args, _b64(case["root"]))
    else:
        verify_inclusion(*args, _b64(case["root"]))


@pytest.mark.parametrize("case", _load("consistency.json"), ids=lambda c: c["file"])
def test_consistency_vectors(case: dict[str, Any]) -> None:
    args = (
        case["size1"],
        case["size2"],
        _b64(case["root1"]),
        _b64(case["root2"]),
        _proof(case["proof"]),
    )
    if case["wantErr"] or case["file"] in STRICTER:
        with pytest.raises(ConsistencyProofInvalid):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_every_vector_file_is_used() -> None:
    assert len(_load("inclusion.json")) == 98
    assert len(_load("consistency.json")) == 98
    assert sum(not c["wantErr"] for c in _load("inclusion.json")) >= 5


RFC = json.loads((VECTORS / "rfc6962.json").read_text())
LEAVES = [bytes.fromhex(x) for x in RFC["leaf_inputs"]]


def test_hasher_vectors() -> None:
    hasher = RFC["hasher"]
    assert EMPTY_ROOT.hex() == hasher["empty_root"]
    assert hash_leaf(b"").hex() == hasher["empty_leaf"]
    assert hash_leaf(b"L123456").hex() == hasher["leaf_L123456"]
    assert hash_children(b"N123", b"N456").hex() == hasher["node_N123_N456"]


@pytest.mark.parametrize("size", range(9))
def test_root_hash_vectors(size: int) -> None:
    reader = memory_reader([hash_leaf(x) for x in LEAVES])
    assert root_hash(size, reader).hex() == RFC["root_hashes"][size]
    assert naive.mth(LEAVES[:size]).hex() == RFC["root_hashes"][size]


def test_node_hash_vectors() -> None:
    reader = memory_reader([hash_leaf(x) for x in LEAVES])
    for level, row in enumerate(RFC["node_hashes"]):
        for index, expected in enumerate(row):
            assert reader(level, index).hex() == expected


def _leaves(n: int) -> list[bytes]:
    return [i.to_bytes(4, "big") for i in range(n)]


@pytest.mark.parametrize("n", [*range(1, 40), 255, 256, 257, 511, 1000])
def test_proofs_equal_the_naive_implementation(n: int) -> None:
    leaves = _leaves(n)
    reader = memory_reader([hash_leaf(x) for x in leaves])
    root = root_hash(n, reader)
    assert root == naive.mth(leaves)
    step = max(1, n // 25)
    for m in range(0, n, step):
        assert inclusion_proof(m, n, reader) == naive.path(m, leaves)
    for m in range(1, n, step):
        assert consistency_proof(m, n, reader) == naive.proof(m, leaves)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[int, int, int]:
    n = draw(st.integers(1, 3000))
    return n, draw(st.integers(0, n - 1)), draw(st.integers(1, n))


_READERS: dict[int, Any] = {}


def _reader(n: int) -> Any:
    if n not in _READERS:
        _READERS.clear()
        _READERS[n] = memory_reader([hash_leaf(x) for x in _leaves(n)])
    return _READERS[n]


@given(tree_and_index())
def test_every_proof_verifies(case: tuple[int, int, int]) -> None:
    n, index, m = case
    reader = _reader(n)
    root = root_hash(n, reader)
    verify_inclusion(index, n, reader(0, index), inclusion_proof(index, n, reader), root)
    old_root = root_hash(m, reader)
    verify_consistency(m, n, old_root, root, consistency_proof(m, n, reader))


@given(tree_and_index(), st.data())
def test_any_tampered_proof_fails(case: tuple[int, int, int], data: st.DataObject) -> None:
    n, index, m = case
    reader = _reader(n)
    root = root_hash(n, reader)
    leaf = reader(0, index)
    path = inclusion_proof(index, n, reader)
    mutation = data.draw(st.sampled_from(["flip", "drop", "add", "index", "leaf"]))
    args: list[Any] = [index, n, leaf, list(path), root]
    if mutation == "flip" and path:
        i = data.draw(st.integers(0, len(path) - 1))
        bit = data.draw(st.integers(0, 255))
        element = bytearray(path[i])
        element[bit // 8] ^= 1 << (bit % 8)
        args[3][i] = bytes(element)
    elif mutation == "drop" and path:
        args[3].pop(data.draw(st.integers(0, len(path) - 1)))
    elif mutation == "add":
        args[3].insert(data.draw(st.integers(0, len(path))), bytes(32))
    elif mutation == "index" and n > 1:
        args[0] = data.draw(st.integers(0, n - 1).filter(lambda i: i != index))
    else:
        args[2] = hash_leaf(b"not in the tree")
    with pytest.raises(InclusionProofInvalid):
        verify_inclusion(*args)

    if m == n:
        return
    proof = consistency_proof(m, n, reader)
    old_root = root_hash(m, reader)
    i = data.draw(st.integers(0, len(proof) - 1))
    tampered = list(proof)
    tampered[i] = hash_children(tampered[i], b"")
    with pytest.raises(ConsistencyProofInvalid):
        verify_consistency(m, n, old_root, root, tampered)
    with pytest.raises(ConsistencyProofInvalid):
        verify_consistency(m, n, old_root, root, proof[:-1])
    with pytest.raises(ConsistencyProofInvalid):
        verify_consistency(m, n, old_root, root, [*proof, old_root])
    with pytest.raises(ConsistencyProofInvalid):
        verify_consistency(m, n, hash_leaf(b"other"), root, proof)


def test_a_wrong_size_that_changes_the_path_shape_fails() -> None:
    # A proof binds the tree size only through its shape (RFC 9162 §2.1.3.2); the
    # vectors' treeSize mutations cover the rest.
    reader = _reader(8)
    path = inclusion_proof(5, 8, reader)
    with pytest.raises(InclusionProofInvalid):
        verify_inclusion(5, 6, reader(0, 5), path, root_hash(8, reader))


def test_range_errors() -> None:
    reader = _reader(5)
    with pytest.raises(ProofRangeError):
        inclusion_proof(5, 5, reader)
    with pytest.raises(ProofRangeError):
        consistency_proof(6, 5, reader)
    with pytest.raises(ProofRangeError):
        inclusion_proof(0, -1, reader)
    assert consistency_proof(5, 5, reader) == []
    assert consistency_proof(0, 5, reader) == []


def test_malformed_inputs_are_refused_not_crashed() -> None:
    reader = _reader(8)
    root = root_hash(8, reader)
    path = inclusion_proof(3, 8, reader)
    for bad in ([b"short", *path[1:]], [*path[:-1], b"x" * 33]):
        with pytest.raises(InclusionProofInvalid):
            verify_inclusion(3, 8, reader(0, 3), bad, root)
    with pytest.raises(InclusionProofInvalid):
        verify_inclusion(3, 8, reader(0, 3), path, root[:31])
    with pytest.raises(InclusionProofInvalid):
        verify_inclusion(True, 8, reader(0, 3), path, root)
    with pytest.raises(ProofInvalid):
        verify_consistency(2**64, 2**64, root, root, [])
    # From the empty tree: only SHA-256("") and an empty proof.
    verify_consistency(0, 8, EMPTY_ROOT, root, [])
    with pytest.raises(ConsistencyProofInvalid):
        verify_consistency(0, 8, root, root, [])
