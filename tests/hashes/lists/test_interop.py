"""Hex-per-line and CSV import/export, and list diffs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import AlgorithmMismatch, ListFormatError
from hashes.lists import build_list
from hashes.lists.diff import diff_lists
from hashes.lists.interop import read_csv, read_hex_lines, write_csv, write_hex_lines
from hashes.values import Algorithm

from .list_helpers import make_list

PDQ_A = "f" * 64
PDQ_B = "0123456789abcdef" * 4


def test_read_hex_lines() -> None:
    text = f"# a comment\n{PDQ_A}\n\n  {PDQ_B.upper()}  \r\n"
    got = read_hex_lines(text, Algorithm.PDQ, "csam")
    assert len(got) == 2
    assert got.hashes[1].tobytes() == bytes.fromhex(PDQ_B)
    assert got.categories == ("csam",)
    assert got.entry_categories.tolist() == [0, 0]
    assert got.entry_ids is None


@pytest.mark.parametrize("line", ["abc", "f" * 63, "f" * 65, "g" * 64, f"{PDQ_A} extra"])
def test_read_hex_lines_names_the_bad_line(line: str) -> None:
    with pytest.raises(ListFormatError, match="line 2"):
        read_hex_lines(f"{PDQ_A}\n{line}\n", Algorithm.PDQ, "csam")


def test_read_hex_lines_needs_a_category() -> None:
    with pytest.raises(ListFormatError):
        read_hex_lines(PDQ_A, Algorithm.PDQ, "")


def test_read_csv() -> None:
    text = f"hash,category,id\n{PDQ_A},csam,a1\n{PDQ_B},terror\n{PDQ_B},csam,\n"
    got = read_csv(text, Algorithm.PDQ)
    assert got.categories == ("csam", "terror")
    assert got.entry_categories.tolist() == [0, 1, 0]
    assert got.entry_ids == ["a1", None, None]
    no_ids = read_csv(f"{PDQ_A},csam\n", Algorithm.PDQ)
    assert no_ids.entry_ids is None
    assert len(no_ids) == 1


@pytest.mark.parametrize(
    "row", [PDQ_A, f"{PDQ_A},csam,1,2", f"{PDQ_A},", "xyz,csam", f"{PDQ_A[:-1]},csam"]
)
def test_read_csv_names_the_bad_line(row: str) -> None:
    with pytest.raises(ListFormatError, match="line 2"):
        read_csv(f"{PDQ_B},csam\n{row}\n", Algorithm.PDQ)


@given(seed=st.integers(0, 1000), n=st.integers(0, 20), ids=st.booleans())
def test_csv_round_trip(seed: int, n: int, ids: bool) -> None:
    hl = make_list(n=n, seed=seed, ids=ids)
    got = read_csv(write_csv(hl), Algorithm.PDQ)
    np.testing.assert_array_equal(got.hashes, hl.hashes)
    assert [got.categories[c] for c in got.entry_categories] == [hl.category(i) for i in range(n)]
    expected_ids = [hl.entry_id(i) for i in range(n)]
    assert (got.entry_ids or [None] * n) == expected_ids


@given(seed=st.integers(0, 1000), n=st.integers(0, 20))
def test_hex_round_trip(seed: int, n: int) -> None:
    hl = make_list(n=n, seed=seed, algorithm=Algorithm.PHASH)
    text = write_hex_lines(hl)
    assert text.count("\n") == n
    got = read_hex_lines(text, Algorithm.PHASH, "x")
    np.testing.assert_array_equal(got.hashes, hl.hashes)


def test_diff() -> None:
    old = build_list(
        list_id="d",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PHASH,
        threshold=8,
        categories=("a", "b"),
        hashes=np.array([[1] * 8, [2] * 8, [3] * 8], dtype=np.uint8),
        entry_categories=[0, 0, 1],
    )
    new = build_list(
        list_id="d",
        version=2,
        issued_at_ms=0,
        algorithm=Algorithm.PHASH,
        threshold=8,
        categories=("b", "a"),  # same names, other order: compared by name
        hashes=np.array([[3] * 8, [4] * 8, [2] * 8, [1] * 8], dtype=np.uint8),
        entry_categories=[0, 1, 0, 1],
        previous_digest=old.digest,
    )
    d = diff_lists(old, new)
    assert d.removed.tolist() == [1]  # [2]*8 moved from "a" to "b"
    assert d.added.tolist() == [1, 2]  # [4]*8 is new; [2]*8 under "b"
    assert diff_lists(old, old).added.size == 0
    with pytest.raises(AlgorithmMismatch):
        diff_lists(old, make_list())
