"""Readers of a published log (c2sp.org/tlog-tiles): a directory or an HTTP base URL.

Each returns a :data:`~client_scan.transparency.bundle.Fetch`: ``fetch(path)`` gives the
bytes of ``checkpoint`` or a ``tile/...`` path. Only those paths are ever read (checked
with :func:`hashes.transparency.tiles.parse_tile_path`), so a path from untrusted input
cannot leave the log's folder, and every answer is bounded in size. HTTP goes through an
injectable ``httpx`` transport (the client library's one network seam).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from client_scan.errors import LogUnavailable
from client_scan.transparency.bundle import CHECKPOINT_PATH, Fetch
from hashes.errors import TileFormatError
from hashes.transparency.note import MAX_NOTE_BYTES
from hashes.transparency.tiles import TILE_WIDTH, parse_tile_path

__all__ = ["HttpLog", "directory_fetch", "max_bytes_for"]

DEFAULT_TIMEOUT_S = 30.0


def max_bytes_for(path: str) -> int:
    """The most bytes a well-formed file at ``path`` can hold.

    Raises:
        LogUnavailable: ``path`` is neither ``checkpoint`` nor a canonical tile path.
    """
    if path == CHECKPOINT_PATH:
        return MAX_NOTE_BYTES
    try:
        tile = parse_tile_path(path)
    except TileFormatError as exc:
        raise LogUnavailable(f"not a path of a published log: {path[:80]!r}") from exc
    if tile.level is None:
        return tile.width * (2 + 0xFFFF)
    return TILE_WIDTH * 32


def directory_fetch(root: str | Path) -> Fetch:
    """A fetch function over a folder written by ``frankly log publish``.

    Raises (from calls):
        LogUnavailable: a path outside the layout, a missing file, or one over its bound.
    """
    base = Path(root)

    def fetch(path: str) -> bytes:
        limit = max_bytes_for(path)
        try:
            with (base / path).open("rb") as f:
                data = f.read(limit + 1)
        except OSError as exc:
            raise LogUnavailable(f"{path}: {type(exc).__name__}") from None
        if len(data) > limit:
            raise LogUnavailable(f"{path} is larger than {limit} bytes")
        return data

    return fetch


class HttpLog:
    """A fetch function over a log served at ``base_url`` (``GET base_url/checkpoint``,
    ``GET base_url/tile/...``), e.g. the service's ``/log`` routes or a CDN.

    ``transport`` is the network seam (``None``: httpx's default). Use as a context
    manager or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            transport=transport,
            timeout=timeout_s,
            follow_redirects=False,
        )

    def __call__(self, path: str) -> bytes:
        """The bytes at ``path``.

        Raises:
            LogUnavailable: unreachable, a status other than 200, or over the bound.
        """
        limit = max_bytes_for(path)
        try:
            with self._http.stream("GET", path) as response:
                if response.status_code != 200:
                    raise LogUnavailable(f"GET {path}: HTTP {response.status_code}")
                chunks: list[bytes] = []
                total = 0
                for chunk in response.iter_bytes():
                    total += len(chunk)
                    if total > limit:
                        raise LogUnavailable(f"GET {path}: larger than {limit} bytes")
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise LogUnavailable(f"GET {path}: {type(exc).__name__}") from None
        return b"".join(chunks)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> HttpLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
