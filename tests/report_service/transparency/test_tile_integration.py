"""The service's incremental tile integration (one leaf at a time, a full tile's hash moved
up a level) builds exactly the tiles that the pure core computes from all the leaves."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hashes.transparency import memory_reader, tile_hashes, tiles_for_size
from hashes.transparency.merkle import hash_leaf
from report_service.transparency.service import _Tiles


class DictTiles(_Tiles):
    def __init__(self) -> None:
        self.cache = {}
        self.dirty = set()

    def get(self, level: int, index: int) -> bytearray:
        return self.cache.setdefault((level, index), bytearray())


@given(st.integers(0, 70_000), st.integers(1, 600))
def test_incremental_tiles_equal_tiles_from_all_leaves(start: int, extra: int) -> None:
    # Sizes around tile boundaries matter most: start anywhere, add a few hundred.
    n = min(start, 2000) if start % 3 else start % 66_000
    total = n + extra
    leaves = [hash_leaf(i.to_bytes(4, "big")) for i in range(total)]
    tiles = DictTiles()
    for i, leaf in enumerate(leaves):
        tiles.add_leaf_hash(i, leaf)
    reader = memory_reader(leaves)
    for tile in tiles_for_size(total):
        assert tile.level is not None
        stored = bytes(tiles.cache[(tile.level, tile.index)])
        assert stored[: tile.width * 32] == tile_hashes(tile, reader)
        assert len(stored) == tile.width * 32
