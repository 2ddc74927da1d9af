"""Matching a video against the video entries of a trusted hash list.

:class:`VideoListMatcher` holds a list's video entries (``HashList.videos``, format
version 2) ready for queries: every usable frame (quality at or above the list's cut-off,
repeated hashes within a video once) in a :class:`hashes.index.HammingIndex`, and the
video each indexed frame belongs to. Each usable query frame is one exact range search;
the percentages are those of :func:`hashes.video.match_video` with the list's
thresholds, for every listed video in one pass. A query with the same SHA-256 (else MD5) as a listed
video matches it exactly, whatever its frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hashes.index import HammingIndex
from hashes.lists.format import HashList
from hashes.video.vpdq import VideoHash, VpdqFrame, usable_digests

ORIGINAL = "original"

__all__ = ["VideoListMatch", "VideoListMatcher"]


@dataclass(frozen=True, slots=True)
class VideoListMatch:
    """A listed video that a query matched.

    ``position`` is the video's index among the list's videos; ``exact`` says the file's
    digest was equal (then both percentages are 100); ``variant`` names the query variant
    that matched (:mod:`hashes.video.variants`; ``original`` for vPDQ itself).
    """

    list_id: str
    list_version: int
    category: str
    entry_id: str | None
    position: int
    query_match_percent: float
    compared_match_percent: float
    exact: bool = False
    variant: str = "original"


class VideoListMatcher:
    """Matches videos against one list's video entries (none if the list has none)."""

    __slots__ = ("_frame_video", "_index", "_list", "_md5", "_sha256", "_usable_counts")

    def __init__(self, hash_list: HashList) -> None:
        self._list = hash_list
        videos = hash_list.videos
        digests: list[bytes] = []
        owners: list[int] = []
        counts = np.zeros(len(videos) if videos is not None else 0, dtype=np.int64)
        if videos is not None:
            for i in range(len(videos)):
                usable = usable_digests(videos.video(i).frames, videos.quality_threshold)
                counts[i] = len(usable)
                digests.extend(usable)
                owners.extend([i] * len(usable))
        rows = np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(len(digests), 32)
        self._index = HammingIndex(rows)
        self._frame_video = np.asarray(owners, dtype=np.int64)
        self._usable_counts = counts
        self._sha256 = {} if videos is None else _digests(videos.sha256)
        self._md5 = {} if videos is None else _digests(videos.md5)

    @property
    def hash_list(self) -> HashList:
        return self._list

    def __len__(self) -> int:
        return len(self._usable_counts)

    def match(self, query: VideoHash) -> list[VideoListMatch]:
        """Every listed video that ``query`` matches under the list's policy, the best
        first (exact, then query-match percentage, then position)."""
        return self.match_variants(query, {ORIGINAL: query.frames})

    def match_variants(
        self, query: VideoHash, variants: Mapping[str, Sequence[VpdqFrame]]
    ) -> list[VideoListMatch]:
        """:meth:`match` of every query variant (name -> frames, as
        :attr:`hashes.video.variants.VideoVariants.variants`; every frame of a variant
        under one transform): each listed video once, through the first variant (in the
        mapping's order) that matches it, named in ``variant``."""
        videos = self._list.videos
        if videos is None or not len(videos):
            return []
        exact: set[int] = set()
        if query.sha256 is not None:
            exact.update(self._sha256.get(query.sha256.digest, ()))
        if query.md5 is not None:
            exact.update(self._md5.get(query.md5.digest, ()))
        chosen: dict[int, tuple[str, float, float]] = {i: (ORIGINAL, 100.0, 100.0) for i in exact}
        for name, frames in variants.items():
            for i, percents in self._percentages(frames).items():
                chosen.setdefault(i, (name, *percents))
        found: list[VideoListMatch] = []
        header = self._list.header
        for i, (name, q_percent, t_percent) in chosen.items():
            found.append(
                VideoListMatch(
                    list_id=header.list_id,
                    list_version=header.version,
                    category=header.categories[int(videos.categories[i])],
                    entry_id=videos.entry_id(i),
                    position=i,
                    query_match_percent=q_percent,
                    compared_match_percent=t_percent,
                    exact=i in exact,
                    variant=name,
                )
            )
        found.sort(key=lambda m: (not m.exact, -m.query_match_percent, m.position))
        return found

    def _percentages(self, frames: Sequence[VpdqFrame]) -> dict[int, tuple[float, float]]:
        """Listed video -> (query-match %, compared-match %) for those ``frames`` match."""
        videos = self._list.videos
        assert videos is not None
        q = usable_digests(frames, videos.quality_threshold)
        if not q or not len(self._index):
            return {}
        nvideos = len(videos)
        q_hits = np.zeros(nvideos, dtype=np.int64)
        t_hit = np.zeros(len(self._index), dtype=bool)
        for digest in q:
            hits = self._index.range_search(digest, videos.distance_threshold).positions
            t_hit[hits] = True
            # The videos this query frame found a frame in, each once.
            q_hits[np.unique(self._frame_video[hits])] += 1
        t_hits = np.bincount(self._frame_video[t_hit], minlength=nvideos)
        out: dict[int, tuple[float, float]] = {}
        # A list that asks for 0 % matches every video with usable frames.
        every = videos.query_match_percent <= 0
        for i in range(nvideos) if every else np.flatnonzero(q_hits):
            usable = int(self._usable_counts[i])
            if usable == 0:
                continue
            q_percent = int(q_hits[i]) * 100.0 / len(q)
            t_percent = int(t_hits[i]) * 100.0 / usable
            if (
                q_percent >= videos.query_match_percent
                and t_percent >= videos.compared_match_percent
            ):
                out[int(i)] = (q_percent, t_percent)
        return out


def _digests(column: npt.NDArray[np.uint8]) -> dict[bytes, list[int]]:
    out: dict[bytes, list[int]] = {}
    for i in range(column.shape[0]):
        digest = column[i].tobytes()
        if any(digest):
            out.setdefault(digest, []).append(i)
    return out
