"""When to try a delivery again (pure).

The default follows the retry schedule Standard Webhooks recommends ("Deliverability and
reliability"): after the first, immediate attempt, retries 5 s, 5 min, 30 min, 2 h, 5 h,
10 h and 10 h later (about 1 day and 3 hours in all), each delay stretched or shrunk by
up to :data:`JITTER` at random so that endpoints that failed together do not all come back
together. After the last retry fails the delivery is dead-lettered. The schedule is the
setting ``webhook_retry_schedule_s`` (its length is the number of retries).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

DEFAULT_SCHEDULE_S: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.1
MAX_RETRY_AFTER_S = 24 * 3600


def next_attempt_at(
    now_ms: int,
    attempts: int,
    schedule_s: Sequence[float],
    uniform: Callable[[], float],
    *,
    retry_after_s: float | None = None,
) -> int | None:
    """When to try again after the ``attempts``-th attempt failed, or ``None`` when the
    schedule is used up (dead letter).

    ``uniform()`` returns a float in ``[0, 1)`` (the jitter); a receiver's
    ``Retry-After`` (bounded by a day) can only lengthen the wait.
    """
    if attempts < 1 or attempts > len(schedule_s):
        return None
    base = float(schedule_s[attempts - 1])
    delay = base * (1 + JITTER * (2 * uniform() - 1))
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, MAX_RETRY_AFTER_S))
    return now_ms + max(0, round(delay * 1000))
