"""Per-caller token-bucket rate limiting.

The bucket arithmetic is pure (:func:`take`); :class:`RateLimiter` keeps one bucket per
key in memory behind a lock. Process-local by design: behind several service processes
each enforces its own share, which is the usual first line before a shared limiter.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from report_service.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Bucket:
    """Tokens left and when they were last counted (ms)."""

    tokens: float
    updated_ms: int


def take(
    bucket: Bucket | None, now_ms: int, rate_per_s: float, burst: int
) -> tuple[Bucket, float | None]:
    """Take one token. Return the new bucket and ``None``, or the unchanged bucket and the
    seconds to wait until a token is available."""
    if bucket is None:
        bucket = Bucket(float(burst), now_ms)
    elapsed_s = max(0, now_ms - bucket.updated_ms) / 1000.0
    tokens = min(float(burst), bucket.tokens + elapsed_s * rate_per_s)
    if tokens >= 1.0:
        return Bucket(tokens - 1.0, now_ms), None
    return Bucket(tokens, now_ms), (1.0 - tokens) / rate_per_s


class RateLimiter:
    """Token buckets by key: ``per_minute`` sustained, ``burst`` at once."""

    def __init__(self, per_minute: float, burst: int, max_keys: int = 100_000) -> None:
        self._rate = per_minute / 60.0
        self._burst = burst
        self._max_keys = max_keys
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def check(self, key: str, now_ms: int) -> None:
        """Take a token for ``key``.

        Raises:
            RateLimited: no token is left; ``retry_after_s`` says when one will be.
        """
        with self._lock:
            if len(self._buckets) >= self._max_keys and key not in self._buckets:
                self._buckets.clear()  # bounded memory; a reset only forgives callers
            bucket, wait = take(self._buckets.get(key), now_ms, self._rate, self._burst)
            self._buckets[key] = bucket
        if wait is not None:
            raise RateLimited(wait)
