"""Intersection of lists from curators of distinct jurisdictions, made checkable.

Apple's two-jurisdiction rule (an entry is matched only if child-safety organisations in
at least two jurisdictions list it) as a construction anyone can re-run:
:func:`intersect_lists` keeps every hash present in source lists of at least
``min_sources`` distinct declared jurisdictions, and writes a **manifest** into the
result's header (signed with it, and so logged with it): the rule, and for every source
its list id, version, digest and jurisdiction. :func:`verify_intersection` re-checks a
result against its sources.

Entries are compared by exact hash (same algorithm in every source); a hash's category in
the result is the one most sources give it (ties: the first by name); entry ids are not
carried (they are the sources' own names). Pure: no files, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hashes.errors import HashListError, ListFormatError
from hashes.lists.format import HashList, build_list

__all__ = [
    "MANIFEST_KIND",
    "IntersectionMismatch",
    "Source",
    "intersect_lists",
    "read_manifest",
    "verify_intersection",
]

MANIFEST_KIND = "frankly-intersection"


class IntersectionMismatch(HashListError):
    """A list is not the intersection its manifest claims (other sources, other entries,
    another rule)."""


@dataclass(frozen=True, slots=True)
class Source:
    """A source list and the jurisdiction declared for its curator (e.g. ``"US"``)."""

    hash_list: HashList
    jurisdiction: str


def _manifest(sources: Sequence[Source], min_sources: int) -> bytes:
    doc = {
        "kind": MANIFEST_KIND,
        "v": 1,
        "min_jurisdictions": min_sources,
        "sources": [
            {
                "list_id": s.hash_list.header.list_id,
                "version": s.hash_list.header.version,
                "digest": s.hash_list.digest.hex(),
                "jurisdiction": s.jurisdiction,
                "count": s.hash_list.header.count,
            }
            for s in sorted(sources, key=lambda s: s.hash_list.digest)
        ],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _select(sources: Sequence[Source], min_sources: int) -> tuple[np.ndarray, list[str], list[int]]:
    """The kept hashes (sorted rows), the category table, and one category per row."""
    if not sources:
        raise ListFormatError("an intersection needs source lists")
    algorithm = sources[0].hash_list.header.algorithm
    if any(s.hash_list.header.algorithm is not algorithm for s in sources):
        raise ListFormatError("the source lists hold different hash algorithms")
    if not 1 <= min_sources <= len({s.jurisdiction for s in sources}):
        raise ListFormatError(
            f"--min-sources {min_sources} needs at least that many distinct jurisdictions"
        )
    if len({s.hash_list.digest for s in sources}) != len(sources):
        raise ListFormatError("the same source list is given twice")
    jurisdictions: dict[bytes, set[str]] = {}
    votes: dict[bytes, dict[str, int]] = {}
    for s in sources:
        names = s.hash_list.header.categories
        for row, cat in zip(s.hash_list.hashes, s.hash_list.categories, strict=True):
            key = row.tobytes()
            jurisdictions.setdefault(key, set()).add(s.jurisdiction)
            tally = votes.setdefault(key, {})
            tally[names[int(cat)]] = tally.get(names[int(cat)], 0) + 1
    kept = sorted(k for k, js in jurisdictions.items() if len(js) >= min_sources)
    chosen = [min(votes[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] for k in kept]
    table = sorted(set(chosen))
    index = {name: i for i, name in enumerate(table)}
    nbytes = algorithm.bits // 8
    rows = np.frombuffer(b"".join(kept), dtype=np.uint8).reshape(len(kept), nbytes)
    return rows, table, [index[c] for c in chosen]


def intersect_lists(
    sources: Sequence[Source],
    min_sources: int,
    *,
    list_id: str,
    version: int,
    issued_at_ms: int,
    threshold: int,
    expires_at_ms: int | None = None,
    previous_digest: bytes | None = None,
) -> HashList:
    """The unsigned list of every hash in sources of ``min_sources`` or more distinct
    jurisdictions, sorted by hash, with the manifest in its header.

    Raises:
        ListFormatError: no sources, mixed algorithms, the same source twice, fewer
            distinct jurisdictions than ``min_sources``, or a header field out of range.
    """
    rows, table, cats = _select(sources, min_sources)
    return build_list(
        list_id=list_id,
        version=version,
        issued_at_ms=issued_at_ms,
        algorithm=sources[0].hash_list.header.algorithm,
        threshold=threshold,
        categories=table,
        hashes=rows,
        entry_categories=np.asarray(cats, dtype=np.int64),
        previous_digest=previous_digest,
        expires_at_ms=expires_at_ms,
        manifest=_manifest(sources, min_sources),
    )


def read_manifest(hash_list: HashList) -> dict[str, object]:
    """The intersection manifest a list carries.

    Raises:
        IntersectionMismatch: the list carries no intersection manifest.
    """
    raw = hash_list.header.manifest
    if raw is None:
        raise IntersectionMismatch("the list carries no manifest: it is not an intersection")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise IntersectionMismatch("the manifest is not JSON") from None
    if not isinstance(doc, dict) or doc.get("kind") != MANIFEST_KIND:
        raise IntersectionMismatch("the manifest is not an intersection manifest")
    return doc


def verify_intersection(result: HashList, sources: Sequence[Source]) -> None:
    """Check that ``result`` is exactly the intersection of ``sources`` its manifest names.

    Raises:
        IntersectionMismatch: the manifest names other sources (digests or jurisdictions),
            or the entries differ from the intersection recomputed from ``sources``.
    """
    doc = read_manifest(result)
    min_sources = doc.get("min_jurisdictions")
    if isinstance(min_sources, bool) or not isinstance(min_sources, int):
        raise IntersectionMismatch("the manifest has no min_jurisdictions")
    expected = _manifest(sources, min_sources)
    if expected != result.header.manifest:
        raise IntersectionMismatch(
            "the sources given are not those the manifest names (digests or jurisdictions)"
        )
    try:
        rows, table, cats = _select(sources, min_sources)
    except ListFormatError as exc:
        raise IntersectionMismatch(str(exc)) from exc
    if result.header.algorithm is not sources[0].hash_list.header.algorithm:
        raise IntersectionMismatch("the result holds another algorithm than its sources")
    got = sorted((result.hashes[i].tobytes(), result.category(i)) for i in range(len(result)))
    want = sorted((rows[i].tobytes(), table[cats[i]]) for i in range(len(rows)))
    if got != want:
        raise IntersectionMismatch(
            f"the result holds {len(got)} entries, the sources give {len(want)} "
            "(or the same number with other hashes or categories)"
        )
