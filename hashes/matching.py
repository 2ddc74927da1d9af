"""Matching hashes against trusted lists: :class:`Matcher` for one list, :class:`Matchers`
for several.

A :class:`Matcher` wraps a :class:`~hashes.lists.HashList` (already accepted by
:func:`~hashes.lists.load_list`) in a :class:`~hashes.index.HammingIndex` and turns index
hits into :class:`Match` values naming the list, version, category and entry. It is pure:
the same list and query always give the same matches, in the same order (distance, then
position in the list).

A hash of another algorithm than the list's is a caller error and raises
:class:`~hashes.errors.AlgorithmMismatch`: silently answering "no match" would hide a
wiring mistake (say, a pHash checked against a PDQ list). :class:`Matchers` is the
forgiving front for "check this image's hashes against every list I hold": it sends each
hash only to the lists of its algorithm.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from hashes.errors import AlgorithmMismatch
from hashes.index import HammingIndex, RangeHits, Strategy
from hashes.lists.format import HashList
from hashes.values import Algorithm, HashValue

__all__ = ["Match", "Matcher", "Matchers"]


@dataclass(frozen=True, slots=True)
class Match:
    """One list entry within the threshold of a queried hash.

    ``position`` is the entry's index in the list (stable for a given list version);
    ``entry_id`` is the curator's id for it, if the list carries ids. ``variant`` names
    the shape of the query that matched (:mod:`hashes.variants`: ``"original"`` for the
    picture as received, ``"flipy"`` for a mirror, ``"trimmed"`` once its flat border is
    cut, ...).
    """

    list_id: str
    list_version: int
    category: str
    distance: int
    entry_id: str | None
    algorithm: Algorithm
    position: int
    variant: str = "original"


class Matcher:
    """Exact threshold matching against one hash list.

    Building the matcher builds the index (about half a second for a million PDQ hashes);
    queries after that take well under a millisecond. ``strategy`` is passed to
    :class:`HammingIndex` and only matters to tests and benchmarks.
    """

    __slots__ = ("_index", "_list")

    def __init__(self, hash_list: HashList, *, strategy: Strategy = "auto") -> None:
        self._list = hash_list
        self._index = HammingIndex(hash_list.hashes, strategy=strategy)

    @property
    def hash_list(self) -> HashList:
        """The list this matcher answers for."""
        return self._list

    @property
    def algorithm(self) -> Algorithm:
        """The algorithm of the list's hashes."""
        return self._list.header.algorithm

    def match(self, value: HashValue, threshold: int | None = None) -> list[Match]:
        """Every entry within ``threshold`` bits of ``value`` (the list's threshold if None).

        Raises:
            AlgorithmMismatch: ``value`` is not of the list's algorithm.
            IndexQueryError: ``threshold`` is not an integer in ``0..bits``.
        """
        self._check(value)
        t = self._list.header.threshold if threshold is None else threshold
        return self._matches(self._index.range_search(value.digest, t))

    def match_many(
        self, values: Sequence[HashValue], threshold: int | None = None
    ) -> list[list[Match]]:
        """:meth:`match` for each value, in order.

        Raises:
            AlgorithmMismatch: a value is not of the list's algorithm.
            IndexQueryError: ``threshold`` is not an integer in ``0..bits``.
        """
        for value in values:
            self._check(value)
        t = self._list.header.threshold if threshold is None else threshold
        hits = self._index.search_many([v.digest for v in values], t)
        return [self._matches(h) for h in hits]

    def match_variants(
        self,
        variants: Mapping[str, HashValue] | Iterable[tuple[str, HashValue]],
        threshold: int | None = None,
    ) -> list[Match]:
        """Match every variant of one query (:mod:`hashes.variants`); a match on any counts.

        Each entry is reported once, through its nearest variant (the first given on a
        tie, so ``"original"`` wins when listed first), with ``Match.variant`` naming it.
        Entries that share an id are one entry with several hashes (an augmented entry,
        :mod:`hashes.augment`) and are reported once, through the nearest of them.
        Sorted by distance, then position.

        Raises:
            AlgorithmMismatch: a value is not of the list's algorithm.
            IndexQueryError: ``threshold`` is not an integer in ``0..bits``.
        """
        pairs = list(variants.items() if isinstance(variants, Mapping) else variants)
        found = self.match_many([value for _, value in pairs], threshold)
        best: dict[int | str, Match] = {}
        for (name, _), matches in zip(pairs, found, strict=True):
            for m in matches:
                key = m.entry_id or m.position
                held = best.get(key)
                if held is None or (m.distance, m.position) < (held.distance, held.position):
                    best[key] = replace(m, variant=name)
        return sorted(best.values(), key=lambda m: (m.distance, m.position))

    def _check(self, value: HashValue) -> None:
        if value.algorithm is not self.algorithm:
            raise AlgorithmMismatch(
                f"a {value.algorithm.value} hash cannot be matched against the "
                f"{self.algorithm.value} list {self._list.header.list_id!r}"
            )

    def _matches(self, hits: RangeHits) -> list[Match]:
        header = self._list.header
        return [
            Match(
                list_id=header.list_id,
                list_version=header.version,
                category=self._list.category(position),
                distance=distance,
                entry_id=self._list.entry_id(position),
                algorithm=header.algorithm,
                position=position,
            )
            for position, distance in hits.pairs()
        ]


class Matchers:
    """Several lists at once, each hash checked against the lists of its algorithm.

    Raises:
        ValueError: (on construction) two lists share a ``list_id``.
    """

    __slots__ = ("_matchers",)

    def __init__(self, hash_lists: Iterable[HashList]) -> None:
        matchers = [Matcher(h) for h in hash_lists]
        ids = [m.hash_list.header.list_id for m in matchers]
        if len(set(ids)) != len(ids):
            raise ValueError("two lists share a list_id")
        self._matchers = tuple(matchers)

    @property
    def matchers(self) -> tuple[Matcher, ...]:
        """One matcher per list, in the order given."""
        return self._matchers

    def match(self, values: Iterable[HashValue]) -> list[Match]:
        """Matches of every value against every list of its algorithm, at list thresholds.

        Values with no list of their algorithm match nothing. Results are grouped by value
        (in the order given), then list, then distance.
        """
        out: list[Match] = []
        for value in values:
            for matcher in self._matchers:
                if matcher.algorithm is value.algorithm:
                    out.extend(matcher.match(value))
        return out
