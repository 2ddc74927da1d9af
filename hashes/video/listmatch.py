"""Matching a video against the video entries of a trusted hash list.

:class:`VideoListMatcher` holds a list's video entries (``HashList.videos``, format
version 2) ready for queries: every usable frame (quality at or above the list's cut-off,
repeated hashes within a video once) as rows of four ``uint64``, and the video each row
belongs to. A query is compared with all of them at once, block by block, and the
percentages are those of :func:`hashes.video.match_video` with the list's thresholds, for
every listed video in one pass. A query with the same SHA-256 (else MD5) as a listed
video matches it exactly, whatever its frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from hashes.lists.format import HashList
from hashes.video.vpdq import VideoHash, _usable

__all__ = ["VideoListMatch", "VideoListMatcher"]

_BLOCK_CELLS = 1 << 22


@dataclass(frozen=True, slots=True)
class VideoListMatch:
    """A listed video that a query matched.

    ``position`` is the video's index among the list's videos; ``exact`` says the file's
    digest was equal (then both percentages are 100).
    """

    list_id: str
    list_version: int
    category: str
    entry_id: str | None
    position: int
    query_match_percent: float
    compared_match_percent: float
    exact: bool = False


class VideoListMatcher:
    """Matches videos against one list's video entries (none if the list has none)."""

    __slots__ = ("_frame_video", "_frames", "_list", "_md5", "_sha256", "_usable_counts")

    def __init__(self, hash_list: HashList) -> None:
        self._list = hash_list
        videos = hash_list.videos
        rows: list[npt.NDArray[np.uint64]] = []
        owners: list[npt.NDArray[np.int64]] = []
        counts = np.zeros(len(videos) if videos is not None else 0, dtype=np.int64)
        if videos is not None:
            for i in range(len(videos)):
                usable = _usable(videos.video(i).frames, videos.quality_threshold)
                counts[i] = len(usable)
                rows.append(usable)
                owners.append(np.full(len(usable), i, dtype=np.int64))
        self._frames = np.concatenate(rows) if rows else np.zeros((0, 4), dtype=np.uint64)
        self._frame_video = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
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
        videos = self._list.videos
        if videos is None or not len(videos):
            return []
        exact: set[int] = set()
        if query.sha256 is not None:
            exact.update(self._sha256.get(query.sha256.digest, ()))
        if query.md5 is not None:
            exact.update(self._md5.get(query.md5.digest, ()))
        q = _usable(query.frames, videos.quality_threshold)
        nvideos = len(videos)
        q_hits = np.zeros(nvideos, dtype=np.int64)
        t_hit = np.zeros(len(self._frames), dtype=bool)
        if len(q) and len(self._frames):
            block = max(1, _BLOCK_CELLS // len(self._frames))
            for start in range(0, len(q), block):
                rows = q[start : start + block]
                distance = np.bitwise_count(rows[:, None, :] ^ self._frames[None, :, :]).sum(
                    axis=2, dtype=np.int32
                )
                close = distance <= videos.distance_threshold
                t_hit |= close.any(axis=0)
                # For each query frame, the videos it found a frame in (each once).
                hit_rows, hit_cols = np.nonzero(close)
                pairs = np.unique(hit_rows * nvideos + self._frame_video[hit_cols])
                q_hits += np.bincount(pairs % nvideos, minlength=nvideos)
        t_hits = np.bincount(self._frame_video[t_hit], minlength=nvideos)
        found: list[VideoListMatch] = []
        header = self._list.header
        for i in range(nvideos):
            usable = int(self._usable_counts[i])
            if i in exact:
                q_percent = t_percent = 100.0
            elif len(q) == 0 or usable == 0:
                continue
            else:
                q_percent = int(q_hits[i]) * 100.0 / len(q)
                t_percent = int(t_hits[i]) * 100.0 / usable
                if (
                    q_percent < videos.query_match_percent
                    or t_percent < videos.compared_match_percent
                ):
                    continue
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
                )
            )
        found.sort(key=lambda m: (not m.exact, -m.query_match_percent, m.position))
        return found


def _digests(column: npt.NDArray[np.uint8]) -> dict[bytes, list[int]]:
    out: dict[bytes, list[int]] = {}
    for i in range(column.shape[0]):
        digest = column[i].tobytes()
        if any(digest):
            out.setdefault(digest, []).append(i)
    return out
