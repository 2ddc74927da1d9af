"""What changed between two versions of a list: entries added and removed.

An entry is its (hash, category) pair: an entry whose category changed counts as removed
from the old list and added to the new one. Entry ids and order are not compared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hashes.errors import AlgorithmMismatch
from hashes.lists.format import HashList

__all__ = ["ListDiff", "diff_lists"]


@dataclass(frozen=True, eq=False)
class ListDiff:
    """Positions of the removed entries (in ``old``) and the added ones (in ``new``)."""

    removed: npt.NDArray[np.int64]
    added: npt.NDArray[np.int64]


def diff_lists(old: HashList, new: HashList) -> ListDiff:
    """Entries of ``old`` missing from ``new`` (removed) and of ``new`` missing from ``old``.

    Raises:
        AlgorithmMismatch: the two lists hold different algorithms.
    """
    if old.header.algorithm is not new.header.algorithm:
        raise AlgorithmMismatch("cannot diff lists of different algorithms")
    # Categories are compared by name, so re-number both lists into one shared table.
    names = sorted(set(old.header.categories) | set(new.header.categories))
    number = {name: i for i, name in enumerate(names)}
    old_keys = _keyed(old, number)
    new_keys = _keyed(new, number)
    removed = np.flatnonzero(~np.isin(old_keys, new_keys)).astype(np.int64)
    added = np.flatnonzero(~np.isin(new_keys, old_keys)).astype(np.int64)
    return ListDiff(removed=removed, added=added)


def _keyed(hash_list: HashList, number: dict[str, int]) -> npt.NDArray[np.void]:
    nbytes = hash_list.header.bits // 8
    remap = np.array([number[c] for c in hash_list.header.categories], dtype=">u2")
    rows = np.empty((len(hash_list), nbytes + 2), dtype=np.uint8)
    rows[:, :nbytes] = hash_list.hashes
    if len(hash_list):
        cats = remap[hash_list.categories.astype(np.int64)]
        rows[:, nbytes:] = cats.view(np.uint8).reshape(-1, 2)
    return rows.view(np.dtype((np.void, nbytes + 2))).ravel()
