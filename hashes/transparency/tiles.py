"""The c2sp.org/tlog-tiles layout: tile paths, tile contents, entry bundles, and proofs read
from tiles.

A tile at level ``L`` and index ``N`` holds up to 256 hashes; hash ``i`` is
``MTH(D[(N*256 + i) * 256**L : (N*256 + i + 1) * 256**L])``, that is the perfect subtree
node at Merkle level ``8*L`` and index ``N*256 + i``. A full tile has 256 hashes (8,192
bytes); the rightmost tiles of a tree are partial, ``.p/<W>`` with ``W`` in 1..255.
Entry bundles at ``tile/entries/<N>`` hold the level-0 entries themselves, each as a
big-endian uint16 length and the bytes.

Nothing here does I/O: :class:`TileReader` asks a ``fetch(path) -> bytes`` callable for
tiles, so the same code reads a directory, an HTTP server or a database.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from hashes.errors import ProofRangeError, TileFormatError
from hashes.transparency.merkle import HASH_SIZE, MAX_TREE_SIZE, hash_children, hash_leaf

__all__ = [
    "MAX_ENTRY_SIZE",
    "MAX_TILE_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TilePath",
    "TileReader",
    "bundle_leaf_hashes",
    "decode_entry_bundle",
    "encode_entry_bundle",
    "encode_tile_index",
    "parse_tile_path",
    "tile_hashes",
    "tile_path",
    "tiles_for_size",
]

TILE_HEIGHT = 8
TILE_WIDTH = 256
MAX_TILE_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF
# An index is at most 2**64 / 256; its path has at most seven 3-digit elements.
_MAX_INDEX = MAX_TREE_SIZE // TILE_WIDTH


@dataclass(frozen=True, slots=True)
class TilePath:
    """One tile (``level`` 0..63) or entry bundle (``level`` is ``None``): its index and,
    for a partial tile, its width (1..255); ``width == 256`` means full."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def is_full(self) -> bool:
        """Whether the tile is full (immutable; cacheable forever)."""
        return self.width == TILE_WIDTH

    @property
    def path(self) -> str:
        """The path below the log prefix, e.g. ``tile/1/x001/x234/067.p/17``."""
        return tile_path(self.level, self.index, self.width)


def encode_tile_index(index: int) -> str:
    """``N`` as zero-padded 3-digit path elements, all but the last prefixed ``x``
    (``1234067`` -> ``x001/x234/067``).

    Raises:
        TileFormatError: a negative or too large index.
    """
    if isinstance(index, bool) or not 0 <= index <= _MAX_INDEX:
        raise TileFormatError(f"{index!r} is not a tile index")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    return "/".join([f"x{g}" for g in groups[:-1]] + [groups[-1]])


def tile_path(level: int | None, index: int, width: int = TILE_WIDTH) -> str:
    """The tlog-tiles path of a tile (``level`` 0..63) or, with ``level=None``, of an
    entry bundle.

    Raises:
        TileFormatError: a level, index or width out of range.
    """
    if level is not None and (isinstance(level, bool) or not 0 <= level <= MAX_TILE_LEVEL):
        raise TileFormatError(f"{level!r} is not a tile level")
    if isinstance(width, bool) or not 1 <= width <= TILE_WIDTH:
        raise TileFormatError(f"{width!r} is not a tile width")
    head = "tile/entries" if level is None else f"tile/{level}"
    tail = "" if width == TILE_WIDTH else f".p/{width}"
    return f"{head}/{encode_tile_index(index)}{tail}"


_PATH = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/"
    r"(?P<index>(?:x[0-9]{3}/){0,6}[0-9]{3})"
    r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?"
)


def parse_tile_path(path: str) -> TilePath:
    """Parse a path produced by :func:`tile_path`, strictly (one spelling per tile).

    Raises:
        TileFormatError: anything else, including leading zero groups (``x000/001``).
    """
    if not isinstance(path, str) or len(path) > 64:
        raise TileFormatError("not a tile path")
    match = _PATH.fullmatch(path)
    if match is None:
        raise TileFormatError(f"not a tile path: {path[:64]!r}")
    level_text = match["level"]
    level = None if level_text == "entries" else int(level_text)
    if level is not None and level > MAX_TILE_LEVEL:
        raise TileFormatError(f"tile level {level} is above {MAX_TILE_LEVEL}")
    index_text = match["index"]
    if index_text.startswith("x000"):
        raise TileFormatError("a tile index has no leading zero groups")
    index = int(index_text.replace("x", "").replace("/", ""))
    width = TILE_WIDTH if match["width"] is None else int(match["width"])
    if match["width"] is not None and not 1 <= width < TILE_WIDTH:
        raise TileFormatError(f"partial tile width {width} is not in 1..255")
    result = TilePath(level, index, width)
    if result.path != path:
        raise TileFormatError(f"not the canonical tile path: {path!r}")
    return result


def tiles_for_size(size: int) -> Iterator[TilePath]:
    """Every tile (not entry bundle) a tree of ``size`` leaves serves: the full tiles and
    the partial rightmost tile of each level, from level 0 up."""
    if isinstance(size, bool) or not 0 <= size <= MAX_TREE_SIZE:
        raise ProofRangeError(f"{size!r} is not a tree size")
    level = 0
    while level <= MAX_TILE_LEVEL:
        hashes_at_level = size >> (TILE_HEIGHT * level)
        if hashes_at_level == 0:
            return
        full, rest = divmod(hashes_at_level, TILE_WIDTH)
        for index in range(full):
            yield TilePath(level, index)
        if rest:
            yield TilePath(level, full, rest)
        level += 1


def tile_hashes(tile: TilePath, reader: Callable[[int, int], bytes]) -> bytes:
    """The content of ``tile``: ``width`` hashes read from a Merkle node reader."""
    if tile.level is None:
        raise TileFormatError("an entry bundle is not a tile of hashes")
    node_level = TILE_HEIGHT * tile.level
    first = tile.index * TILE_WIDTH
    return b"".join(reader(node_level, first + i) for i in range(tile.width))


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry as ``uint16_be(len) || entry``.

    Raises:
        TileFormatError: more than 256 entries, or an entry longer than 65,535 bytes.
    """
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise TileFormatError("an entry bundle holds 1 to 256 entries")
    out = bytearray()
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise TileFormatError("a log entry is longer than 65,535 bytes")
        out += struct.pack(">H", len(entry)) + entry
    return bytes(out)


def decode_entry_bundle(data: bytes, width: int = TILE_WIDTH) -> list[bytes]:
    """The entries of a bundle that must hold exactly ``width`` of them.

    Raises:
        TileFormatError: truncated, too many or too few entries, or trailing bytes.
    """
    if not 1 <= width <= TILE_WIDTH:
        raise TileFormatError(f"{width!r} is not a bundle width")
    if len(data) > width * (2 + MAX_ENTRY_SIZE):
        raise TileFormatError("the entry bundle is too large")
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if len(entries) == width:
            raise TileFormatError(f"the entry bundle holds more than {width} entries")
        if offset + 2 > len(data):
            raise TileFormatError("the entry bundle ends inside a length")
        (length,) = struct.unpack_from(">H", data, offset)
        offset += 2
        if offset + length > len(data):
            raise TileFormatError("the entry bundle ends inside an entry")
        entries.append(bytes(data[offset : offset + length]))
        offset += length
    if len(entries) != width:
        raise TileFormatError(f"the entry bundle holds {len(entries)} entries, not {width}")
    return entries


def bundle_leaf_hashes(entries: Sequence[bytes]) -> list[bytes]:
    """The level-0 hashes of a bundle's entries (what the level-0 tile must hold)."""
    return [hash_leaf(entry) for entry in entries]


class TileReader:
    """A :data:`~hashes.transparency.merkle.NodeReader` over the tiles of one tree size.

    ``fetch(path)`` returns the bytes at a tile path (from a directory, HTTP, a database).
    Only tiles that the tree of ``size`` serves are asked for, each once (cached): a tile
    of width ``w`` must be exactly ``32 * w`` bytes. A node between tile levels is hashed
    up from the ``2**k`` tile hashes below it.

    Raises (from calls):
        ProofRangeError: a node outside the tree of ``size``.
        TileFormatError: a fetched tile of the wrong length.
    """

    def __init__(self, size: int, fetch: Callable[[str], bytes]) -> None:
        if isinstance(size, bool) or not 0 <= size <= MAX_TREE_SIZE:
            raise ProofRangeError(f"{size!r} is not a tree size")
        self.size = size
        self._fetch = fetch
        self._tiles: dict[tuple[int, int], bytes] = {}

    def _tile(self, level: int, index: int) -> bytes:
        key = (level, index)
        cached = self._tiles.get(key)
        if cached is not None:
            return cached
        hashes_at_level = self.size >> (TILE_HEIGHT * level)
        width = min(TILE_WIDTH, hashes_at_level - index * TILE_WIDTH)
        if width <= 0:
            raise ProofRangeError(f"tile {level}/{index} is outside a tree of {self.size}")
        data = self._fetch(tile_path(level, index, width))
        if len(data) != width * HASH_SIZE:
            raise TileFormatError(
                f"tile {level}/{index} has {len(data)} bytes, a width of {width} needs "
                f"{width * HASH_SIZE}"
            )
        self._tiles[key] = bytes(data)
        return self._tiles[key]

    def __call__(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0 or (index + 1) << level > self.size:
            raise ProofRangeError(f"no perfect subtree at level {level}, index {index}")
        tile_level, sublevel = divmod(level, TILE_HEIGHT)
        span = 1 << sublevel
        first = index * span
        tile = self._tile(tile_level, first // TILE_WIDTH)
        offset = first % TILE_WIDTH
        nodes = [tile[(offset + i) * HASH_SIZE : (offset + i + 1) * HASH_SIZE] for i in range(span)]
        while len(nodes) > 1:
            nodes = [hash_children(nodes[i], nodes[i + 1]) for i in range(0, len(nodes), 2)]
        return nodes[0]
