"""Matcher: list hits as Match values, thresholds, algorithms, several lists."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import AlgorithmMismatch, IndexQueryError
from hashes.lists import HashList, build_list
from hashes.matching import Match, Matcher, Matchers
from hashes.values import Algorithm, HashValue


def _flip(digest: bytes, nbits: int) -> bytes:
    """Flip the first ``nbits`` bits."""
    value = int.from_bytes(digest, "big") ^ (((1 << nbits) - 1) << (len(digest) * 8 - nbits))
    return value.to_bytes(len(digest), "big")


def _list(algorithm: Algorithm = Algorithm.PDQ, n: int = 50, list_id: str = "L") -> HashList:
    rng = np.random.default_rng(1)
    return build_list(
        list_id=list_id,
        version=3,
        issued_at_ms=0,
        algorithm=algorithm,
        threshold=31 if algorithm is Algorithm.PDQ else 8,
        categories=("csam", "terror"),
        hashes=rng.integers(0, 256, (n, algorithm.bits // 8), dtype=np.uint8),
        entry_categories=np.arange(n) % 2,
        entry_ids=[f"id-{i}" for i in range(n)],
    )


def test_exact_and_near_matches() -> None:
    hl = _list()
    matcher = Matcher(hl)
    target = hl.hashes[7].tobytes()
    assert matcher.match(HashValue(Algorithm.PDQ, target)) == [
        Match("L", 3, "terror", 0, "id-7", Algorithm.PDQ, 7)
    ]
    near = HashValue(Algorithm.PDQ, _flip(target, 20))
    (m,) = matcher.match(near)
    assert (m.position, m.distance, m.entry_id) == (7, 20, "id-7")


def test_threshold_defaults_to_the_lists_and_can_be_overridden() -> None:
    hl = _list()
    matcher = Matcher(hl)
    far = HashValue(Algorithm.PDQ, _flip(hl.hashes[3].tobytes(), 32))
    assert matcher.match(far) == []
    assert [m.position for m in matcher.match(far, threshold=32)] == [3]
    assert matcher.match(HashValue(Algorithm.PDQ, _flip(hl.hashes[3].tobytes(), 31)))


def test_wrong_algorithm_raises() -> None:
    matcher = Matcher(_list())
    with pytest.raises(AlgorithmMismatch):
        matcher.match(HashValue(Algorithm.PHASH, bytes(8)))
    with pytest.raises(AlgorithmMismatch):
        matcher.match(HashValue(Algorithm.SHA256, bytes(32)))  # same length, other algorithm
    with pytest.raises(AlgorithmMismatch):
        matcher.match_many([HashValue(Algorithm.PHASH, bytes(8))])


def test_bad_threshold_raises() -> None:
    matcher = Matcher(_list())
    with pytest.raises(IndexQueryError):
        matcher.match(HashValue(Algorithm.PDQ, bytes(32)), threshold=300)


@given(
    seed=st.integers(0, 10_000),
    flips=st.integers(0, 40),
    strategy=st.sampled_from(["auto", "multi_index", "scan"]),
)
def test_matches_equal_pairwise_distances(seed: int, flips: int, strategy: str) -> None:
    hl = _list(n=60)
    rng = np.random.default_rng(seed)
    base = hl.hashes[int(rng.integers(0, 60))].tobytes()
    query = HashValue(Algorithm.PDQ, _flip(base, flips))
    expected = sorted(
        (query.distance(hl.entry(i).hash), i)
        for i in range(len(hl))
        if query.distance(hl.entry(i).hash) <= 31
    )
    got = Matcher(hl, strategy=strategy).match(query)  # type: ignore[arg-type]
    assert [(m.distance, m.position) for m in got] == expected
    assert all(m.category == hl.category(m.position) for m in got)


def test_match_many() -> None:
    hl = _list(Algorithm.PHASH)
    matcher = Matcher(hl)
    values = [HashValue(Algorithm.PHASH, hl.hashes[i].tobytes()) for i in (4, 9)]
    assert [[m.position for m in ms] for ms in matcher.match_many(values)] == [[4], [9]]
    assert matcher.hash_list is hl
    assert matcher.algorithm is Algorithm.PHASH


def test_matchers_route_by_algorithm() -> None:
    pdq, phash = _list(Algorithm.PDQ, list_id="a"), _list(Algorithm.PHASH, list_id="b")
    group = Matchers([pdq, phash])
    values = [
        HashValue(Algorithm.PHASH, phash.hashes[2].tobytes()),
        HashValue(Algorithm.PDQ, pdq.hashes[5].tobytes()),
        HashValue(Algorithm.MD5, bytes(16)),
    ]
    assert [(m.list_id, m.position) for m in group.match(values)] == [("b", 2), ("a", 5)]
    assert len(group.matchers) == 2
    with pytest.raises(ValueError, match="list_id"):
        Matchers([pdq, pdq])
