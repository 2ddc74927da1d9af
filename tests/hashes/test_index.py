"""HammingIndex against a brute-force oracle, on uniform and clustered sets."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import IndexQueryError
from hashes.index import HammingIndex, RangeHits, brute_force_range_search


def _oracle(rows: npt.NDArray[np.uint8], query: bytes, t: int) -> list[tuple[int, int]]:
    """Bit-by-bit brute force, independent of the index's word arithmetic."""
    q = np.unpackbits(np.frombuffer(query, dtype=np.uint8))
    bits = np.unpackbits(rows, axis=1)
    dist = (bits != q).sum(axis=1)
    hits = [(int(i), int(d)) for i, d in enumerate(dist) if d <= t]
    return sorted(hits, key=lambda p: (p[1], p[0]))


def _flip(row: npt.NDArray[np.uint8], positions: list[int]) -> npt.NDArray[np.uint8]:
    bits = np.unpackbits(row.copy())
    for p in positions:
        bits[p] ^= 1
    return np.packbits(bits)


@st.composite
def clustered_sets(draw: st.DrawFn, nbytes: int) -> tuple[npt.NDArray[np.uint8], bytes]:
    """A few centres, each with many near-duplicates, and a query near one of them."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, (draw(st.integers(1, 6)), nbytes), dtype=np.uint8)
    per = draw(st.integers(1, 40))
    nbits = nbytes * 8
    rows = []
    for c in centres:
        for _ in range(per):
            k = int(rng.integers(0, nbits // 3))
            rows.append(_flip(c, rng.choice(nbits, size=k, replace=False).tolist()))
    rows.append(centres[0])  # an exact duplicate
    arr = np.stack(rows)
    flips = int(rng.integers(0, nbits // 4))
    query = _flip(centres[-1], rng.choice(nbits, size=flips, replace=False).tolist())
    return arr, query.tobytes()


@st.composite
def uniform_sets(draw: st.DrawFn, nbytes: int) -> tuple[npt.NDArray[np.uint8], bytes]:
    n = draw(st.integers(0, 200))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 256, (n, nbytes), dtype=np.uint8)
    if n and draw(st.booleans()):
        query = _flip(rows[int(rng.integers(0, n))], [int(rng.integers(0, nbytes * 8))])
    else:
        query = rng.integers(0, 256, nbytes, dtype=np.uint8)
    return rows, query.tobytes()


def _check_all_strategies(rows: npt.NDArray[np.uint8], query: bytes, t: int) -> None:
    expected = _oracle(rows, query, t)
    assert brute_force_range_search(rows, query, t).pairs() == expected
    for strategy in ("auto", "multi_index", "scan"):
        index = HammingIndex(rows, strategy=strategy)
        assert index.range_search(query, t).pairs() == expected, strategy


@pytest.mark.parametrize("nbytes", [8, 32])
@given(data=st.data())
def test_uniform_sets_match_brute_force(nbytes: int, data: st.DataObject) -> None:
    rows, query = data.draw(uniform_sets(nbytes))
    t = data.draw(st.integers(0, nbytes * 8))
    _check_all_strategies(rows, query, t)


@pytest.mark.parametrize("nbytes", [8, 32])
@given(data=st.data())
def test_clustered_sets_match_brute_force(nbytes: int, data: st.DataObject) -> None:
    rows, query = data.draw(clustered_sets(nbytes))
    t = data.draw(st.sampled_from([0, 1, 10, 15, 16, 31, 32, 47, nbytes * 8 // 2]))
    _check_all_strategies(rows, query, t)


def test_large_clustered_list_uses_slots_and_matches_brute_force() -> None:
    """Big enough that "auto" probes the slot tables (PDQ at t=31, 64-bit at t=10)."""
    rng = np.random.default_rng(7)
    for nbytes, t in ((32, 31), (8, 10)):
        base = rng.integers(0, 256, (3000, nbytes), dtype=np.uint8)
        near = np.repeat(base[:50], 20, axis=0)
        noise = np.packbits(rng.random((near.shape[0], nbytes * 8)) < 0.05, axis=1)
        rows = np.concatenate([base, near ^ noise])
        index = HammingIndex(rows)
        assert index._use_slots(t)
        for q in rows[rng.choice(rows.shape[0], 20, replace=False)]:
            assert index.range_search(q.tobytes(), t).pairs() == _oracle(rows, q.tobytes(), t)


def test_batch_equals_single_queries() -> None:
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    queries = rows[:5].copy()
    queries[:, 0] ^= 1
    index = HammingIndex(rows, strategy="multi_index")
    batch = index.range_search_batch(queries, 40)
    assert [h.pairs() for h in batch] == [
        index.range_search(q.tobytes(), 40).pairs() for q in queries
    ]
    assert [h.pairs() for h in index.search_many([q.tobytes() for q in queries], 40)] == [
        h.pairs() for h in batch
    ]
    assert batch[0].pairs()[0] == (0, 1)
    assert index.range_search_batch(np.empty((0, 32), dtype=np.uint8), 3) == []


def test_hits_are_sorted_by_distance_then_position() -> None:
    rows = np.array([[0b11], [0b01], [0b00], [0b01]], dtype=np.uint8)
    hits = HammingIndex(rows).range_search(b"\x00", 8)
    assert isinstance(hits, RangeHits)
    assert hits.pairs() == [(2, 0), (1, 1), (3, 1), (0, 2)]
    assert len(hits) == 4


def test_empty_index_returns_nothing() -> None:
    index = HammingIndex(np.empty((0, 32), dtype=np.uint8))
    assert len(index) == 0
    assert index.range_search(bytes(32), 31).pairs() == []


@pytest.mark.parametrize(
    ("query", "t"),
    [(bytes(31), 3), (bytes(33), 3), (bytes(32), -1), (bytes(32), 257), (bytes(32), 1.5)],
)
def test_bad_queries_are_refused(query: bytes, t: int) -> None:
    index = HammingIndex(np.zeros((3, 32), dtype=np.uint8))
    with pytest.raises(IndexQueryError):
        index.range_search(query, t)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(IndexQueryError):
        HammingIndex(np.zeros((3, 4), dtype=np.int32))
    with pytest.raises(IndexQueryError):
        HammingIndex(np.zeros(8, dtype=np.uint8))
    with pytest.raises(IndexQueryError):
        HammingIndex(np.zeros((3, 6), dtype=np.uint8), strategy="multi_index")
    with pytest.raises(IndexQueryError):
        HammingIndex(np.zeros((3, 4), dtype=np.uint8), strategy="fast")  # type: ignore[arg-type]
    with pytest.raises(IndexQueryError):
        HammingIndex(np.zeros((3, 4), dtype=np.uint8)).range_search_batch(
            np.zeros((2, 5), dtype=np.uint8), 1
        )


def test_odd_byte_lengths_scan() -> None:
    rng = np.random.default_rng(5)
    rows = rng.integers(0, 256, (50, 3), dtype=np.uint8)
    q = rows[4].tobytes()
    assert HammingIndex(rows).range_search(q, 6).pairs() == _oracle(rows, q, 6)


def test_index_copies_its_input_and_reports_memory() -> None:
    rows = np.zeros((4000, 8), dtype=np.uint8)
    index = HammingIndex(rows)
    rows[:] = 255
    assert len(index.range_search(bytes(8), 0)) == 4000
    assert index.bits == 64
    assert index.nbytes >= 4000 * (8 + 4 * 4)
