"""tlog-tiles: path encoding against the spec's examples, strict parsing, tiles computed
from leaves, and proofs read from tiles equal proofs from memory."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import ProofRangeError, TileFormatError
from hashes.transparency.merkle import (
    consistency_proof,
    hash_leaf,
    inclusion_proof,
    memory_reader,
    root_hash,
)
from hashes.transparency.tiles import (
    TilePath,
    TileReader,
    bundle_leaf_hashes,
    decode_entry_bundle,
    encode_entry_bundle,
    encode_tile_index,
    parse_tile_path,
    tile_hashes,
    tile_path,
    tiles_for_size,
)

NOTES = json.loads(
    (Path(__file__).parents[2] / "vectors" / "transparency" / "notes.json").read_text()
)["tile_paths"]


def test_index_encoding_matches_the_spec() -> None:
    for index, text in NOTES["index_examples"]:
        assert encode_tile_index(index) == text
    assert encode_tile_index(0) == "000"
    assert encode_tile_index(999) == "999"
    assert encode_tile_index(1000) == "x001/000"
    assert tile_path(1, 1234067, 17) == "tile/1/x001/x234/067.p/17"
    assert tile_path(None, 5) == "tile/entries/005"


@pytest.mark.parametrize("example", NOTES["size_examples"], ids=lambda e: str(e["size"]))
def test_tiles_for_size_match_the_spec(example: dict[str, object]) -> None:
    tiles = list(tiles_for_size(int(str(example["size"]))))
    full = Counter(str(t.level) for t in tiles if t.is_full)
    assert dict(full) == example["full"]
    partial = [[t.level, t.index, t.width] for t in tiles if not t.is_full]
    assert partial == example["partial"]


@given(
    st.one_of(st.none(), st.integers(0, 63)),
    st.integers(0, 2**56 - 1),
    st.integers(1, 256),
)
def test_paths_round_trip(level: int | None, index: int, width: int) -> None:
    path = tile_path(level, index, width)
    assert parse_tile_path(path) == TilePath(level, index, width)


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/x000/001",
        "tile/00/001",
        "tile/64/000",
        "tile/0/1",
        "tile/0/001.p/0",
        "tile/0/001.p/256",
        "tile/0/001.p/017",
        "tile/0/001/",
        "/tile/0/001",
        "tile/0/x001",
        "tile/entries/001.p/",
        "tile/0/y001/001",
        "tile/-1/001",
        "tile/0/../001",
        "tile/0/x001/x002/x003/x004/x005/x006/x007/008",
    ],
)
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(TileFormatError):
        parse_tile_path(path)


def _tiled(n: int) -> tuple[dict[str, bytes], list[bytes]]:
    leaves = [hash_leaf(i.to_bytes(4, "big")) for i in range(n)]
    reader = memory_reader(leaves)
    files = {t.path: tile_hashes(t, reader) for t in tiles_for_size(n)}
    return files, leaves


@pytest.mark.parametrize("n", [1, 2, 255, 256, 257, 300, 65536 + 513])
def test_proofs_from_tiles_equal_proofs_from_memory(n: int) -> None:
    files, leaves = _tiled(n)
    fetched: list[str] = []

    def fetch(path: str) -> bytes:
        fetched.append(path)
        return files[path]

    tiles = TileReader(n, fetch)
    memory = memory_reader(leaves)
    assert root_hash(n, tiles) == root_hash(n, memory)
    for index in {0, n // 3, n - 1}:
        assert inclusion_proof(index, n, tiles) == inclusion_proof(index, n, memory)
    for m in {1, n // 2, n - 1}:
        if 0 < m < n:
            assert consistency_proof(m, n, tiles) == consistency_proof(m, n, memory)
    assert len(fetched) == len(set(fetched)), "each tile is fetched once"


def test_an_older_tree_reads_partial_tiles_of_its_own_size() -> None:
    files_big, _ = _tiled(600)
    files_small, _ = _tiled(300)
    both = {**files_big, **files_small}
    reader = TileReader(300, both.__getitem__)
    assert root_hash(300, reader) == root_hash(300, memory_reader(_tiled(300)[1]))


def test_a_tile_of_the_wrong_length_is_refused() -> None:
    files, _ = _tiled(10)
    files["tile/0/000.p/10"] = files["tile/0/000.p/10"][:-1]
    with pytest.raises(TileFormatError):
        root_hash(10, TileReader(10, files.__getitem__))
    with pytest.raises(ProofRangeError):
        TileReader(10, files.__getitem__)(0, 10)


def test_entry_bundles() -> None:
    entries = [b"", b"a", b"x" * 65535]
    data = encode_entry_bundle(entries)
    assert decode_entry_bundle(data, 3) == entries
    assert bundle_leaf_hashes(entries)[1] == hash_leaf(b"a")
    for bad, width in [(data[:-1], 3), (data, 2), (data, 4), (data + b"\x00", 3)]:
        with pytest.raises(TileFormatError):
            decode_entry_bundle(bad, width)
    with pytest.raises(TileFormatError):
        encode_entry_bundle([b"x" * 65536])
    with pytest.raises(TileFormatError):
        encode_entry_bundle([])
