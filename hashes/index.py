"""An exact Hamming-distance range index over packed binary hashes.

:class:`HammingIndex` answers "every entry within distance ``t`` of this query" and returns
exactly what a brute-force scan would, only faster. It uses multi-index hashing
(Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with Multi-Index Hashing",
CVPR 2012) with 32-bit substrings, each looked up through its two 16-bit halves:

1. Cut the ``b``-bit hashes into ``p = b / 32`` disjoint 32-bit substrings. If two hashes
   differ in at most ``t`` bits, some substring differs in at most ``R = floor(t / p)``
   bits (otherwise each would differ in ``R + 1`` or more, and the total would exceed
   ``t``).
2. Within that substring, one 16-bit half differs in at most ``r = floor(R / 2)`` bits,
   and the two halves together in at most ``R``.

So for every 16-bit half (a "slot") the index visits the buckets of the values within
``r`` bits of the query's half, keeps the entries whose partner half brings the substring
distance to at most ``R``, and verifies only those with a popcount of the XOR over the
full hash. For PDQ (256 bits: 8 substrings, 16 slots) at ``t = 31``: ``R = 3``, ``r = 1``,
17 buckets per slot; the partner filter drops all but about 0.3 % of the bucket entries
before any random access to the hashes. For 64-bit hashes at ``t = 10``: ``R = 5``,
``r = 2``, 137 buckets per slot.

Each slot's table is CSR-shaped: the entry positions sorted by slot value (``uint32``),
the partner half of each of them in the same order (``uint16``, read sequentially), and
the offsets of each of the 65,536 possible values. No Python object exists per entry.
When the expected number of bucket entries is a sizeable fraction of the list (small
lists, large ``t``), or the hash length is not a multiple of 32 bits, the index scans
everything instead with a vectorised XOR-popcount, which gives the same answer.

The index is pure: numpy arrays in, numpy arrays out, no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from hashes.errors import IndexQueryError

__all__ = ["HammingIndex", "RangeHits", "brute_force_range_search"]

SLOT_BITS = 16
_SLOT_VALUES = 1 << SLOT_BITS
# Below this many entries a full scan is cheaper than building and probing slot tables.
_MIN_INDEXED = 2048
# Use the slot tables only while the expected candidate count stays under n / _SCAN_RATIO.
_SCAN_RATIO = 8
# Rows per block of a full scan, so temporaries stay in cache.
_SCAN_BLOCK = 1 << 16

U8Array = npt.NDArray[np.uint8]
U64Array = npt.NDArray[np.uint64]
IntArray = npt.NDArray[np.int64]
Strategy = Literal["auto", "multi_index", "scan"]


@dataclass(frozen=True, slots=True)
class RangeHits:
    """The entries within range of one query, sorted by (distance, position).

    ``positions`` index the rows the index was built from; ``distances`` are the exact
    Hamming distances. Both are ``int64`` arrays of the same length.
    """

    positions: IntArray
    distances: IntArray

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    def pairs(self) -> list[tuple[int, int]]:
        """Return the hits as ``(position, distance)`` tuples."""
        return list(zip(self.positions.tolist(), self.distances.tolist(), strict=True))


@lru_cache(maxsize=8)
def _masks(radius: int) -> npt.NDArray[np.int64]:
    """Every 16-bit XOR mask with at most ``radius`` bits set, sorted."""
    masks = [0]
    for r in range(1, radius + 1):
        for bits in itertools.combinations(range(SLOT_BITS), r):
            masks.append(sum(1 << b for b in bits))
    out = np.array(sorted(masks), dtype=np.int64)
    out.flags.writeable = False
    return out


def _as_rows(hashes: npt.ArrayLike, name: str) -> U8Array:
    """Coerce packed hashes to a C-contiguous ``uint8`` array of shape ``[n, nbytes]``.

    Raises:
        IndexQueryError: the array is not two-dimensional ``uint8`` with at least one column.
    """
    arr = np.asarray(hashes)
    if arr.dtype != np.uint8 or arr.ndim != 2 or arr.shape[1] == 0:
        raise IndexQueryError(f"{name} must be a 2-D uint8 array of packed hashes")
    return np.ascontiguousarray(arr)


def _to_words(rows: U8Array) -> U64Array:
    """View ``[n, nbytes]`` bytes as ``[n, ceil(nbytes / 8)]`` uint64 words (zero padded).

    Popcount of XOR does not depend on byte order, so native-order words are fine.
    """
    n, nbytes = rows.shape
    width = -(-nbytes // 8) * 8
    if width != nbytes:
        padded = np.zeros((n, width), dtype=np.uint8)
        padded[:, :nbytes] = rows
        rows = padded
    return rows.view(np.uint64).reshape(n, width // 8)


def _distances(words: U64Array, query: U64Array) -> npt.NDArray[np.uint16]:
    """Hamming distance of every row of ``words`` to ``query`` (one row of words)."""
    dist: npt.NDArray[np.uint16] = np.bitwise_count(words[:, 0] ^ query[0]).astype(np.uint16)
    for j in range(1, words.shape[1]):
        dist += np.bitwise_count(words[:, j] ^ query[j])
    return dist


def _empty() -> IntArray:
    out = np.empty(0, dtype=np.int64)
    out.flags.writeable = False
    return out


_NO_HITS = RangeHits(positions=_empty(), distances=_empty())


def _sorted_hits(positions: IntArray, distances: IntArray) -> RangeHits:
    order = np.lexsort((positions, distances))
    return RangeHits(positions=positions[order], distances=distances[order])


def brute_force_range_search(hashes: npt.ArrayLike, query: bytes, t: int) -> RangeHits:
    """Scan every row: the reference answer :class:`HammingIndex` must reproduce.

    Raises:
        IndexQueryError: ``hashes`` is not a 2-D uint8 array, ``query`` has the wrong
            length or ``t`` is outside ``0..bits``.
    """
    rows = _as_rows(hashes, "hashes")
    _check_query(query, t, rows.shape[1])
    words = _to_words(rows)
    qwords = _to_words(np.frombuffer(query, dtype=np.uint8).reshape(1, -1))[0]
    dist = _distances(words, qwords).astype(np.int64)
    positions = np.flatnonzero(dist <= t).astype(np.int64)
    return _sorted_hits(positions, dist[positions])


def _check_query(query: bytes, t: int, nbytes: int) -> None:
    if not isinstance(query, bytes | bytearray | memoryview):
        raise IndexQueryError("the query must be bytes")
    if len(query) != nbytes:
        raise IndexQueryError(
            f"the query has {len(query) * 8} bits but the index holds {nbytes * 8}-bit hashes"
        )
    if isinstance(t, bool) or not isinstance(t, int | np.integer):
        raise IndexQueryError("the distance threshold must be an integer")
    if not 0 <= t <= nbytes * 8:
        raise IndexQueryError(f"the distance threshold must lie in 0..{nbytes * 8}, got {t}")


class HammingIndex:
    """Exact range search ("every entry within distance t") over packed binary hashes.

    Build it from a ``[n, nbytes]`` ``uint8`` array of big-endian packed hashes (the rows
    of a :class:`hashes.lists.HashList`, for instance). Any bit length that is a whole
    number of bytes works; 64-bit (pHash, dHash) and 256-bit (PDQ) hashes are the ones it
    is tuned for. The array is copied into the index's own layout, so later changes to it
    do not affect the index.

    Memory: the hashes themselves (``nbytes`` per entry) plus, when the list is large
    enough to be indexed, 6 bytes per entry per 16-bit slot (a ``uint32`` position and a
    ``uint16`` partner half: 96 bytes per PDQ entry, 24 per 64-bit entry) and 512 KiB of
    offsets per slot.
    """

    __slots__ = (
        "_ids",
        "_nbytes",
        "_offsets",
        "_partners",
        "_plans",
        "_size",
        "_slots",
        "_strategy",
        "_words",
    )

    def __init__(self, hashes: npt.ArrayLike, *, strategy: Strategy = "auto") -> None:
        """Build the index.

        ``strategy`` is for tests and benchmarks: ``"auto"`` (the default) picks slot
        probing or a full scan per query from the expected candidate count;
        ``"multi_index"`` always probes the slot tables; ``"scan"`` never builds them.
        All three return identical results.

        Raises:
            IndexQueryError: ``hashes`` is not a 2-D ``uint8`` array, or ``"multi_index"``
                was asked for hashes that are not a whole number of 32-bit substrings.
        """
        if strategy not in ("auto", "multi_index", "scan"):
            raise IndexQueryError(f"unknown index strategy {strategy!r}")
        rows = _as_rows(hashes, "hashes")
        self._size, self._nbytes = int(rows.shape[0]), int(rows.shape[1])
        self._strategy: Strategy = strategy
        self._words = _to_words(rows).copy()
        self._slots = 0
        self._ids: npt.NDArray[np.uint32] | None = None
        self._partners: npt.NDArray[np.uint16] | None = None
        self._offsets: npt.NDArray[np.int64] | None = None
        self._plans: dict[int, _ProbePlan] = {}
        sliceable = self._nbytes % 4 == 0 and self._size < 2**32
        if strategy == "multi_index" and not sliceable:
            raise IndexQueryError("multi-index hashing needs a whole number of 32-bit substrings")
        if strategy == "multi_index" or (
            strategy == "auto" and sliceable and self._size >= _MIN_INDEXED
        ):
            self._build_slots(rows)

    def _build_slots(self, rows: U8Array) -> None:
        # Slot-major native uint16, so each column is contiguous; a stable argsort of
        # uint16 is a radix sort in numpy, linear in n.
        slots = np.ascontiguousarray(rows.view(">u2").astype(np.uint16).T)  # [m, n]
        m = slots.shape[0]
        ids = np.empty((m, self._size), dtype=np.uint32)
        partners = np.empty((m, self._size), dtype=np.uint16)
        offsets = np.empty((m, _SLOT_VALUES + 1), dtype=np.int64)
        for k in range(m):
            order = np.argsort(slots[k], kind="stable")
            ids[k] = order
            partners[k] = slots[k ^ 1][order]  # the other half of the same 32-bit substring
            offsets[k, 0] = 0
            np.cumsum(np.bincount(slots[k], minlength=_SLOT_VALUES), out=offsets[k, 1:])
        self._slots, self._ids, self._partners, self._offsets = m, ids, partners, offsets

    @property
    def bits(self) -> int:
        """The bit length of the indexed hashes."""
        return self._nbytes * 8

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """Bytes of memory held by the index's arrays."""
        total = self._words.nbytes
        for table in (self._ids, self._partners, self._offsets):
            if table is not None:
                total += table.nbytes
        return int(total)

    def _radii(self, t: int) -> tuple[int, int]:
        """``(R, r)``: the substring radius and the slot (half) radius for ``t``."""
        substring_radius = t // (self._slots // 2)
        return substring_radius, substring_radius // 2

    def _use_slots(self, t: int) -> bool:
        if self._slots == 0:
            return False
        if self._strategy == "multi_index":
            return True
        _, radius = self._radii(t)
        if radius > 3:
            return False
        return self._plan(t).expected_scan * _SCAN_RATIO < self._size

    def range_search(self, query: bytes, t: int) -> RangeHits:
        """Every entry within Hamming distance ``t`` of ``query``, exactly.

        Returns the hits sorted by distance, then position.

        Raises:
            IndexQueryError: ``query`` is not ``bits / 8`` bytes, or ``t`` is not an integer
                in ``0..bits``.
        """
        _check_query(query, t, self._nbytes)
        qrow = np.frombuffer(bytes(query), dtype=np.uint8).reshape(1, -1)
        qwords = _to_words(qrow)[0]
        if self._use_slots(int(t)):
            return self._probe(qrow, qwords, int(t))
        return self._scan(qwords, int(t))

    def range_search_batch(self, queries: npt.ArrayLike, t: int) -> list[RangeHits]:
        """:meth:`range_search` for each row of a ``[q, bits / 8]`` uint8 array.

        Raises:
            IndexQueryError: ``queries`` has the wrong shape or dtype, or ``t`` is invalid.
        """
        rows = _as_rows(queries, "queries") if np.asarray(queries).size else None
        if rows is None:
            return []
        if rows.shape[1] != self._nbytes:
            raise IndexQueryError(
                f"the queries have {rows.shape[1] * 8} bits but the index holds "
                f"{self.bits}-bit hashes"
            )
        return [self.range_search(row.tobytes(), t) for row in rows]

    def search_many(self, queries: Sequence[bytes], t: int) -> list[RangeHits]:
        """:meth:`range_search` for each query in a sequence of byte strings.

        Raises:
            IndexQueryError: a query has the wrong length, or ``t`` is invalid.
        """
        return [self.range_search(q, t) for q in queries]

    def _scan(self, qwords: U64Array, t: int) -> RangeHits:
        found_pos: list[IntArray] = []
        found_dist: list[IntArray] = []
        for start in range(0, self._size, _SCAN_BLOCK):
            block = self._words[start : start + _SCAN_BLOCK]
            dist = _distances(block, qwords)
            hit = np.flatnonzero(dist <= t)
            if hit.size:
                found_pos.append(hit.astype(np.int64) + start)
                found_dist.append(dist[hit].astype(np.int64))
        if not found_pos:
            return _NO_HITS
        return _sorted_hits(np.concatenate(found_pos), np.concatenate(found_dist))

    def _plan(self, t: int) -> _ProbePlan:
        """The per-threshold constants of a probe, computed once and cached."""
        plan = self._plans.get(t)
        if plan is None:
            plan = _ProbePlan.make(self._slots, self._size, *self._radii(t))
            self._plans[t] = plan
        return plan

    def _probe(self, qrow: U8Array, qwords: U64Array, t: int) -> RangeHits:
        ids, partners, offsets = self._ids, self._partners, self._offsets
        if ids is None or partners is None or offsets is None:  # pragma: no cover
            raise IndexQueryError("the index has no slot tables")
        plan = self._plan(t)
        qslots = qrow.view(">u2")[0].astype(np.int64)  # [m]
        # One bucket per (slot, mask): the slot values within r bits of the query's.
        cells = plan.cell_base + (qslots[plan.run_slot] ^ plan.run_mask)
        starts = offsets.reshape(-1)[cells]
        lengths = offsets.reshape(-1)[cells + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return _NO_HITS
        # Turn each bucket (start, length) of the flattened [m, n] tables into indices.
        run_starts = np.cumsum(lengths) - lengths
        flat = np.repeat(starts + plan.table_base - run_starts, lengths)
        flat += np.arange(total, dtype=np.int64)
        # Partner filter: slot distance (the mask's popcount) plus partner-half distance
        # must not exceed the substring radius. Sequential reads only.
        partner_q = np.repeat(qslots[plan.run_partner].astype(np.uint16), lengths)
        partner_budget = np.repeat(plan.run_budget, lengths)
        near = np.bitwise_count(partners.reshape(-1)[flat] ^ partner_q) <= partner_budget
        candidates = ids.reshape(-1)[flat[near]]
        if candidates.size == 0:
            return _NO_HITS
        dist = _distances(self._words[candidates], qwords)
        keep = np.flatnonzero(dist <= t)
        if keep.size == 0:
            return _NO_HITS
        positions, first = np.unique(candidates[keep].astype(np.int64), return_index=True)
        return _sorted_hits(positions, dist[keep][first].astype(np.int64))


@dataclass(frozen=True, slots=True)
class _ProbePlan:
    """Constants of a slot probe for one threshold; one "run" is one (slot, mask) bucket."""

    run_slot: IntArray  # the slot of each run
    run_partner: IntArray  # the partner slot of each run
    run_mask: IntArray  # the XOR mask applied to the query's slot value
    run_budget: npt.NDArray[np.uint8]  # R - popcount(mask): what the partner half may use
    cell_base: IntArray  # start of the run's slot row in the flattened offsets table
    table_base: IntArray  # start of the run's slot row in the flattened id/partner tables
    expected_scan: float  # expected bucket entries visited per query on uniform data

    @classmethod
    def make(cls, m: int, n: int, substring_radius: int, radius: int) -> _ProbePlan:
        masks = _masks(radius)
        run_slot = np.repeat(np.arange(m, dtype=np.int64), masks.shape[0])
        budget = substring_radius - np.bitwise_count(masks).astype(np.int64)
        return cls(
            run_slot=run_slot,
            run_partner=run_slot ^ 1,
            run_mask=np.tile(masks, m),
            run_budget=np.tile(budget, m).astype(np.uint8),
            cell_base=run_slot * (_SLOT_VALUES + 1),
            table_base=run_slot * n,
            expected_scan=m * masks.shape[0] * n / _SLOT_VALUES,
        )
