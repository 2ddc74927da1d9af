"""Per-caller rate limiting: ``per_minute`` sustained, ``burst`` at once.

:class:`SharedRateLimiter` is what the service uses: its state lives in the database
(``rate_limits``, migration ``0006``), so every process and every host behind a load
balancer enforces one limit per caller, exactly. It runs GCRA (the generic cell rate
algorithm, equivalent to a token bucket): one row per caller holds the theoretical
arrival time ``tat`` of its next request; a request at ``now`` is allowed when
``max(tat, now) + T - now <= burst * T`` (``T`` = 60 s / ``per_minute``), and then moves
``tat`` to ``max(tat, now) + T``. Check and update are one atomic statement,
``INSERT .. ON CONFLICT DO UPDATE .. RETURNING``, on SQLite and PostgreSQL alike (on
PostgreSQL in autocommit, without waiting for the WAL flush); the
returned ``last_grant`` nonce says whether this very request was the one let through.
:func:`gcra` is the same rule in pure Python.

A report that is stored pays for its token inside its own write transaction, so an
accepted report costs one write transaction, not two: :meth:`SharedRateLimiter.stored_tat`
is a read-only lookup (folded into the caller's token lookup) and
:meth:`SharedRateLimiter.refuse_if_over` refuses a caller already over its limit before
anything is verified or hashed; :meth:`SharedRateLimiter.take` then runs the same upsert,
the exact check, in the report's transaction (under SQLite's write lock, or holding the
row lock on PostgreSQL until the commit), and a refusal there rolls the report back.

:class:`RateLimiter` (token buckets in one process's memory) and :func:`take` remain
for single-process uses and tests.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, column, func, literal, select, table, text
from sqlalchemy.orm import Session

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


def gcra(
    tat_us: int | None, now_us: int, interval_us: int, burst: int
) -> tuple[int | None, float | None]:
    """One request at ``now_us`` against theoretical arrival time ``tat_us``.

    Return ``(new_tat_us, None)`` when allowed, or ``(None, seconds_to_wait)``.
    """
    base = now_us if tat_us is None else max(tat_us, now_us)
    if base + interval_us - now_us <= burst * interval_us:
        return base + interval_us, None
    return None, (base + interval_us - burst * interval_us - now_us) / 1e6


def _upsert(head: str, greatest: str) -> str:
    """The GCRA rule as one upsert: ``head`` inserts the first grant, ``greatest`` is the
    engine's two-argument maximum (SQLite ``MAX``, PostgreSQL ``GREATEST``)."""
    tat = f"{greatest}(rate_limits.tat_us, CAST(:now AS BIGINT))"
    return f"""{head}
ON CONFLICT (key) DO UPDATE SET
  tat_us = CASE
    WHEN {tat} + :interval - :now <= :cap
    THEN {tat} + :interval
    ELSE rate_limits.tat_us END,
  last_grant = CASE
    WHEN {tat} + :interval - :now <= :cap
    THEN :nonce
    ELSE rate_limits.last_grant END
RETURNING tat_us, last_grant
"""


_FIRST_GRANT = """
INSERT INTO rate_limits (key, tat_us, last_grant)
VALUES (:key, CAST(:now AS BIGINT) + CAST(:interval AS BIGINT), :nonce)"""

# The statements are built once (each report runs one): a TextClause parses its bind
# names when built.

# SQLite: inside the engine's BEGIN IMMEDIATE transaction.
SQLITE_UPSERT = text(_upsert(_FIRST_GRANT, "MAX"))

# PostgreSQL: one autocommit statement (one round trip) that also turns off the WAL flush
# wait for its own commit (``set_config(.., true)``: this transaction only). A limiter row
# is not worth an fsync: a database crash forgets the last few ms of counts, which only
# forgives a few callers. The CTE is read by the SELECT, so it always runs.
POSTGRES_UPSERT = text(
    _upsert(
        """
WITH quick AS (SELECT set_config('synchronous_commit', 'off', true) AS setting)
INSERT INTO rate_limits (key, tat_us, last_grant)
SELECT :key, CAST(:now AS BIGINT) + CAST(:interval AS BIGINT), :nonce FROM quick""",
        "GREATEST",
    )
)

# PostgreSQL inside the report's own transaction: the same rule, committed with the report
# (durably: no synchronous_commit change there).
POSTGRES_UPSERT_IN_TRANSACTION = text(_upsert(_FIRST_GRANT, "GREATEST"))


_RATE_LIMITS = table("rate_limits", column("key"), column("tat_us"))


class SharedRateLimiter:
    """GCRA limits kept in the database: exact across processes and hosts."""

    def __init__(
        self,
        session_factory: Callable[[], Session],
        per_minute: float,
        burst: int,
        *,
        prefix: str = "reports",
    ) -> None:
        self._sessions = session_factory
        self._interval_us = max(1, round(60_000_000 / per_minute))
        self._burst = burst
        self._prefix = prefix

    def _params(self, key: str, now_ms: int) -> dict[str, object]:
        return {
            "key": f"{self._prefix}:{key}"[:200],
            "now": now_ms * 1000,
            "interval": self._interval_us,
            "cap": self._burst * self._interval_us,
            "nonce": secrets.token_hex(8),
        }

    def _refuse(self, tat_us: int, now_ms: int) -> RateLimited:
        wait_us = tat_us + self._interval_us - self._burst * self._interval_us - now_ms * 1000
        return RateLimited(max(wait_us, 1) / 1e6)

    def stored_tat(self, key: ColumnElement[str]) -> ColumnElement[int]:
        """A scalar subquery: the stored ``tat_us`` of the caller whose id is the SQL
        expression ``key`` (NULL for a caller never seen), to read in the same statement
        as the caller's token lookup (which builds that statement once:
        :func:`report_service.storage.users.user_id_by_token_hash_with`)."""
        limiter_key = func.substr(literal(f"{self._prefix}:") + key, 1, 200)
        return (
            select(_RATE_LIMITS.c.tat_us).where(_RATE_LIMITS.c.key == limiter_key).scalar_subquery()
        )

    def refuse_if_over(self, tat_us: int | None, now_ms: int) -> None:
        """The cheap pre-check: refuse a caller whose stored ``tat_us`` (read without any
        lock) already puts a request at ``now_ms`` over the limit. Passing it promises
        nothing; :meth:`take` decides exactly.

        Raises:
            RateLimited: over the limit; ``retry_after_s`` says when the next one passes.
        """
        _tat, wait = gcra(tat_us, now_ms * 1000, self._interval_us, self._burst)
        if wait is not None:
            raise RateLimited(max(wait, 1e-6))

    def take(self, session: Session, key: str, now_ms: int) -> None:
        """Count one request by ``key`` inside ``session``'s open write transaction (the
        report's own): exact, since the upsert holds the row (SQLite's write lock, or
        PostgreSQL's row lock) until that transaction ends; a rollback forgets it.

        Raises:
            RateLimited: over the limit (the caller rolls its transaction back).
        """
        params = self._params(key, now_ms)
        upsert = (
            POSTGRES_UPSERT_IN_TRANSACTION
            if session.get_bind().dialect.name == "postgresql"
            else SQLITE_UPSERT
        )
        tat_us, grant = session.execute(upsert, params).one()
        if grant != params["nonce"]:
            raise self._refuse(int(tat_us), now_ms)

    def check(self, key: str, now_ms: int) -> None:
        """Count one request by ``key`` (blocking: one short write transaction).

        Raises:
            RateLimited: over the limit; ``retry_after_s`` says when the next one passes.
            OperationalError: the database is unreachable (the caller answers 503).
        """
        params = self._params(key, now_ms)
        with self._sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                conn = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                tat_us, grant = conn.execute(POSTGRES_UPSERT, params).one()
            else:
                with session.begin():
                    tat_us, grant = session.execute(SQLITE_UPSERT, params).one()
        if grant != params["nonce"]:
            raise self._refuse(int(tat_us), now_ms)
