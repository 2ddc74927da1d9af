"""Cost of keeping shared state in the database, as figures a reviewer can rerun.

    .venv/bin/python benchmarks/shared_state.py [--database URL] [--postgres-url URL]
        [--rounds 5] [--calls 300]

1. Rate limiting: one ``SharedRateLimiter.check`` (an atomic upsert in its own
   transaction) against the old in-memory ``RateLimiter.check`` (the baseline), interleaved
   round by round, same keys; per-call microseconds min/median/max over the rounds, and
   the ratio of medians.
2. Bank propagation: two ``HashBanks`` on two engines (two "processes"); one banks a new
   hash, the other matches it in a loop (1 ms apart) until it sees it; milliseconds from
   the end of the bank call to the first hit, min/median/max over the rounds.
3. Matching overhead of the freshness check: ``HashBanks.match`` against the same
   ``Matcher.match`` calls without it (the baseline), interleaved.

Default database: a fresh SQLite file. Pass a PostgreSQL URL (an empty database) to
measure LISTEN/NOTIFY instead, or ``--postgres-url`` (a server) to measure a scratch
database created on it after SQLite, as ``make bench`` does.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._support import databases
from hashes.values import Algorithm, HashValue
from report_service.banks import HashBanks
from report_service.keys import generate_key_material
from report_service.ratelimit import RateLimiter, SharedRateLimiter
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database


def pdq(n: int) -> HashValue:
    """A pseudo-random PDQ value: two of them are about 128 bits apart, far from a match."""
    return HashValue(Algorithm.PDQ, random.Random(n).randbytes(32))


def per_call_us(fn: Callable[[int], object], calls: int) -> float:
    start = time.perf_counter()
    for i in range(calls):
        fn(i)
    return (time.perf_counter() - start) / calls * 1e6


def spread(values: list[float]) -> str:
    return f"min {min(values):.1f} / median {statistics.median(values):.1f} / max {max(values):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default=None, help="database URL (default: SQLite)")
    parser.add_argument(
        "--postgres-url",
        default="",
        help="also measure on a scratch database created on this PostgreSQL server "
        "(make bench passes the local one)",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for url, drop in databases(tmp, args.database, args.postgres_url):
            upgrade_database(url)
            engines = [make_engine(url), make_engine(url)]
            try:
                run(engines, args.rounds, args.calls, engines[0].dialect.name)
            finally:
                for engine in engines:
                    engine.dispose()
                if drop is not None:
                    drop()


def check(limiter: RateLimiter | SharedRateLimiter, round_no: int, i: int) -> None:
    limiter.check(f"k{round_no}-{i % 50}", i)


def run(engines: list[Engine], rounds: int, calls: int, backend: str) -> None:
    sessions = [make_session_factory(e) for e in engines]
    memory = RateLimiter(per_minute=1e9, burst=10**9)
    shared = SharedRateLimiter(sessions[0], per_minute=1e9, burst=10**9)
    base: list[float] = []
    subject: list[float] = []
    for r in range(rounds):
        base.append(per_call_us(partial(check, memory, r), calls))
        subject.append(per_call_us(partial(check, shared, r), calls))
    print(f"[{backend}] rate limit check, in memory (baseline): {spread(base)} us")
    print(f"[{backend}] rate limit check, shared in the database: {spread(subject)} us")
    ratio = statistics.median(subject) / statistics.median(base)
    print(f"[{backend}] shared / in-memory per-call time (medians): {ratio:.0f}x")

    keys = generate_key_material(os.urandom, 0)
    writer = HashBanks(sessions[0], keys.curator).listen(engines[0]).load()
    reader = HashBanks(sessions[1], keys.curator).listen(engines[1]).load()
    time.sleep(1.0)  # let the listeners connect
    lags: list[float] = []
    for r in range(rounds * 4):
        value = pdq(r + 1)
        writer.add_entry(value, "test", None, r)
        done = time.perf_counter()
        while not reader.match([value]):
            time.sleep(0.001)
        lags.append((time.perf_counter() - done) * 1000)
    print(f"[{backend}] bank change seen by the other process after: {spread(lags)} ms")

    matchers = reader._matchers
    probe = [pdq(10_000 + i) for i in range(50)]

    def bare(i: int) -> object:
        return [m.match(probe[i % 50]) for m in matchers]

    def checked(i: int) -> object:
        return reader.match([probe[i % 50]])

    plain: list[float] = []
    fresh: list[float] = []
    for _ in range(rounds):
        plain.append(per_call_us(bare, calls * 10))
        fresh.append(per_call_us(checked, calls * 10))
    print(f"[{backend}] match without freshness check (baseline): {spread(plain)} us")
    print(f"[{backend}] HashBanks.match with it: {spread(fresh)} us")
    print(
        f"[{backend}] match overhead ratio (medians): "
        f"{statistics.median(fresh) / statistics.median(plain):.2f}"
    )
    writer.close()
    reader.close()


if __name__ == "__main__":
    main()
