"""Moderator throughput over real HTTP: concurrent claim-next + decide, beside a trivial
FastAPI endpoint driven by the same client threads in the same run.

    .venv/bin/python benchmarks/review.py [--items 400] [--moderators 16]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For SQLite, and for PostgreSQL when ``--postgres-url`` answers (a fresh database is
created for the run and dropped afterwards; ``--postgres-url ''`` skips it):

1. ``frankly serve`` runs in a subprocess on a fresh data folder (``ServiceProcess`` of
   ``benchmarks/intake.py``), so the client threads do not share its GIL.
2. ``--items`` review items are made through the real intake path: sealed, franked,
   stamped text reports from bob about messages alice sent him, posted to
   ``POST /v1/reports`` (``build_reports`` of ``benchmarks/intake.py``); one item each.
3. ``--moderators`` threads, each with its own account (created over
   ``POST /v1/review/moderators``) and HTTP connection, loop
   ``POST /v1/review/queues/general/claim`` + ``POST /v1/review/items/{id}/decision``
   until the queue answers ``queue_empty``. Timed: the whole drain.
4. Correctness, checked and printed: no item was handed to two claims, every item was
   claimed and decided exactly once (by the client's count and by the audit log's
   ``claim`` and ``decide`` entries), the queue ends empty, and the audit chain verifies
   with the expected number of entries.
5. ``frankly audit verify`` over the resulting log, timed as a command (best of five),
   beside ``frankly audit show --limit 1`` (the same interpreter start, settings, schema
   check and database open, one entry read instead of the chain walk); and
   ``GET /v1/audit/verify`` beside ``GET /v1/review/me`` (the same server and token
   check, no chain walk; best of nine), from whose difference entries/s is estimated.
   Each pair is timed interleaved.

Ratios: moderator requests/s (claims, including each thread's final empty claim, plus
decisions) over the baseline's requests/s, the baseline being the one-route FastAPI app of
``benchmarks/_support.py`` posted to ``--items`` times from ``--moderators`` threads just
before and just after each drain (the median of those runs); for the audit rows, baseline
time / measured time. Ratios, not absolute numbers, because machines are shared and noisy.

``--depth N`` (issue 11) measures claim-next at a queue depth instead::

    .venv/bin/python benchmarks/review.py --depth 1000000 [--rounds 5] [--per-round 40]
        [--moderators 8] [--postgres-only] [--workers 1]

N open items are loaded straight into the database (one ``INSERT ... SELECT``), then each
round times, interleaved: ``--per-round`` trivial POSTs one at a time, as many claims over
HTTP one at a time, ``--per-round`` POSTs from each of ``--moderators`` threads, as many
claims over HTTP from each of ``--moderators`` moderators at once (each claim followed,
untimed, by a release, so the depth stays N); then the database layer without HTTP
(``benchmarks/_claim_workers.py``): ``ReviewService.authenticate`` + ``ReviewService.claim``
(each released after) from 1 worker process and from ``--moderators`` processes at once,
each beside the commit floor at the same concurrency (a one-row update and commit from as
many processes: every claim moves the one audit-chain head row and commits, so no claim
can beat it), with each claim split at the statement that takes the lock claims queue on;
and ``queue.store.claim_next`` with its audit entry in process, counting its SQL statements.
``--workers`` runs the service and the baseline on that many processes. It prints the
claim query's plan, the database-side cost of the old claim query against the new probes
on the same rows (PostgreSQL: ``EXPLAIN (ANALYZE, BUFFERS)`` time and pages), the
``EXPLAIN (ANALYZE, BUFFERS)`` of every statement a claim request sends (PostgreSQL),
p50 / p99 per layer with min / median / max of the per-round p99 over rounds, checks that
no item was held by two moderators at once, then
``claim p99 ms at depth N (database layer, ...): X`` and last, over HTTP,
``claim p99 ms at depth N: X``.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._claim_workers import (
    Claims,
    claim_and_release,
    commit_floor,
    create_floor,
    start,
)
from benchmarks._support import baseline_server, postgres_database
from benchmarks.intake import ServiceProcess, build_reports, load, pct

DECISIONS = ("no_violation", "warn_sender", "restrict_sender", "suspend_sender", "escalate_legal")


@dataclass
class Drain:
    """What the moderator threads did."""

    wall_s: float = 0.0
    claimed: dict[str, list[int]] = field(default_factory=dict)
    decided: dict[int, str] = field(default_factory=dict)
    claim_lat: list[float] = field(default_factory=list)
    decide_lat: list[float] = field(default_factory=list)
    requests: int = 0
    errors: list[str] = field(default_factory=list)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def drain(base: str, tokens: dict[str, str]) -> Drain:
    """Every moderator claims and decides until the general queue is empty."""
    out = Drain()
    lock = threading.Lock()
    choice = itertools.count()

    def moderator(name: str, token: str) -> None:
        mine: list[int] = []
        try:
            work(token, mine)
        except Exception as exc:  # recorded and raised after the drain, not lost in a thread
            with lock:
                out.errors.append(f"{name}: {exc!r}")
        with lock:
            out.claimed[name] = mine

    def work(token: str, mine: list[int]) -> None:
        with httpx.Client(base_url=base, headers=auth(token), timeout=60.0) as client:
            while True:
                start = time.perf_counter()
                r = client.post("/v1/review/queues/general/claim")
                claim_s = time.perf_counter() - start
                if r.status_code == 404 and r.json()["error"]["code"] == "queue_empty":
                    with lock:
                        out.requests += 1
                    break
                if r.status_code != 200:
                    with lock:
                        out.errors.append(f"claim {r.status_code} {r.text[:200]}")
                    break
                item = int(r.json()["item"]["id"])
                mine.append(item)
                with lock:
                    decision = DECISIONS[next(choice) % len(DECISIONS)]
                body = {"decision": decision, "policy": "harassment/1.2", "note": "bench"}
                start = time.perf_counter()
                d = client.post(f"/v1/review/items/{item}/decision", json=body)
                decide_s = time.perf_counter() - start
                with lock:
                    out.requests += 2
                    out.claim_lat.append(claim_s)
                    out.decide_lat.append(decide_s)
                    ok = d.status_code == 200 and d.json()["item"]["status"] == "decided"
                    if not ok or d.json()["item"]["outcome"] != decision:
                        out.errors.append(f"decide {item}: {d.status_code} {d.text[:200]}")
                    elif item in out.decided:
                        out.errors.append(f"item {item} decided twice")
                    else:
                        out.decided[item] = decision

    threads = [threading.Thread(target=moderator, args=pair) for pair in tokens.items()]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.wall_s = time.perf_counter() - start
    return out


def audit_actions(base: str, token: str) -> list[dict[str, Any]]:
    """Every audit entry, paged through ``GET /v1/audit``."""
    entries: list[dict[str, Any]] = []
    after = 0
    with httpx.Client(base_url=base, headers=auth(token), timeout=60.0) as client:
        while True:
            page = client.get("/v1/audit", params={"after": after, "limit": 1000}).json()
            entries.extend(page["entries"])
            if page["next_after"] is None:
                return entries
            after = page["next_after"]


def best_of(n: int, measured: Callable[[], object], floor: Callable[[], object]) -> list[float]:
    """The shortest of ``n`` timed calls of each, interleaved (so a burst of load from
    other jobs hits both alike), in seconds."""
    best = [float("inf"), float("inf")]
    for _ in range(n):
        for i, fn in enumerate((measured, floor)):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def check(ok: bool, what: str) -> str:
    """``what``, marked; raise if it does not hold (the run's figures would mean nothing)."""
    if not ok:
        raise RuntimeError(f"correctness check failed: {what}")
    return f"ok  {what}"


@dataclass
class Result:
    db: str
    items: int
    moderators: int
    drain: Drain
    intake_rps: float
    cli_verify_s: float
    cli_floor_s: float
    http_verify_s: float
    http_floor_s: float
    entries: int
    checks: list[str]


def run_backend(name: str, data: Path, db_url: str | None, items: int, moderators: int) -> Result:
    service = ServiceProcess(data, db_url)
    try:
        base = service.start()
        admin = service.cli("moderators", "add", "bench-admin", "--role", "admin")
        tokens: dict[str, str] = {}
        with httpx.Client(base_url=base, headers=auth(admin), timeout=60.0) as client:
            for who, role in [(f"mod-{i:02d}", "moderator") for i in range(moderators)] + [
                ("bench-auditor", "auditor")
            ]:
                r = client.post("/v1/review/moderators", json={"name": who, "role": role})
                r.raise_for_status()
                tokens[who] = r.json()["token"]
        auditor = tokens.pop("bench-auditor")

        headers = {**auth(service.tokens["bob"]), "Content-Type": "application/octet-stream"}
        bodies = build_reports(data, items, None)
        intake_rps, _ = load(base + "/v1/reports", bodies, headers, moderators, 201)
        with httpx.Client(base_url=base, timeout=60.0) as client:
            queues = client.get("/v1/review/queues", headers=auth(next(iter(tokens.values()))))
            general = {q["queue"]: q for q in queues.json()["queues"]}["general"]
            before = client.get("/v1/audit/verify", headers=auth(auditor)).json()
        checks = [check(general["depth"] == items, f"{items} items waiting after intake")]

        result = drain(base, tokens)
        if result.errors:
            raise RuntimeError(f"{len(result.errors)} bad answers, e.g. {result.errors[0]}")

        claimed = [i for mine in result.claimed.values() for i in mine]
        checks.append(check(len(claimed) == len(set(claimed)), "no item handed to two claims"))
        checks.append(
            check(
                len(set(claimed)) == items and set(result.decided) == set(claimed),
                f"every one of the {items} items claimed and decided once (client count)",
            )
        )
        entries = audit_actions(base, auditor)
        per_action = {
            action: Counter(e["item_id"] for e in entries if e["action"] == action)
            for action in ("claim", "decide")
        }
        checks.append(
            check(
                all(set(c) == set(claimed) and set(c.values()) == {1} for c in per_action.values()),
                "audit log: exactly one claim and one decide entry per item",
            )
        )
        holders = {i: who for who, mine in result.claimed.items() for i in mine}
        checks.append(
            check(
                all(
                    holders[e["item_id"]] == e["actor"]
                    for e in entries
                    if e["action"] in ("claim", "decide")
                ),
                "audit log: each item claimed and decided by the same moderator",
            )
        )
        with httpx.Client(base_url=base, timeout=60.0) as client:
            mod = auth(next(iter(tokens.values())))
            queues = client.get("/v1/review/queues", headers=mod).json()["queues"]
            general = {q["queue"]: q for q in queues}["general"]
            checks.append(
                check(
                    general["depth"] == 0 and general["claimed"] == 0,
                    "general queue empty, no live claims",
                )
            )
            verify = client.get("/v1/audit/verify", headers=auth(auditor)).json()
            expected = before["entries"] + 2 * items
            checks.append(
                check(
                    verify["ok"] and verify["entries"] == expected,
                    f"audit chain verifies: {verify['entries']} entries "
                    f"({before['entries']} account + {items} claim + {items} decide)",
                )
            )
            http_verify, http_floor = best_of(
                9,
                lambda: client.get("/v1/audit/verify", headers=auth(auditor)),
                lambda: client.get("/v1/review/me", headers=auth(auditor)),
            )

        out = service.cli("audit", "verify")
        checks.append(
            check(out.startswith(f"ok: {expected} entries"), f"`frankly audit verify`: {out[:40]}…")
        )
        cli_verify, cli_floor = best_of(
            5,
            lambda: service.cli("audit", "verify"),
            lambda: service.cli("audit", "show", "--limit", "1"),
        )
        return Result(
            name,
            items,
            moderators,
            result,
            intake_rps,
            cli_verify,
            cli_floor,
            http_verify,
            http_floor,
            expected,
            checks,
        )
    finally:
        service.stop()


# ---------------------------------------------------------------------------- --depth N

#: One bulk statement per backend: ``depth`` open items in the general queue, with
#: priorities spread over 45..165 and ages over a week, so the order really is mixed.
BULK_PG = """
INSERT INTO review_items (commitment, conversation_id, sender_id, reason, reporter_count,
    max_bank_severity, child_safety, queue, priority, status, outcome, created_at, updated_at)
SELECT lpad(to_hex(i), 64, '0'), 'bench', 'sender-' || (i % 997), 'harassment', 1 + i % 3,
    (i * 7919) % 61, false, 'general', 40 + 5 * (1 + i % 3) + 2 * ((i * 7919) % 61), 'open',
    NULL, :now - (i * 104729) % 604800000, :now
FROM generate_series(CAST(1 AS BIGINT), CAST(:n AS BIGINT)) AS s(i)
"""
BULK_SQLITE = """
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < :n)
INSERT INTO review_items (commitment, conversation_id, sender_id, reason, reporter_count,
    max_bank_severity, child_safety, queue, priority, status, outcome, created_at, updated_at)
SELECT printf('%064x', i), 'bench', 'sender-' || (i % 997), 'harassment', 1 + i % 3,
    (i * 7919) % 61, 0, 'general', 40 + 5 * (1 + i % 3) + 2 * ((i * 7919) % 61), 'open',
    NULL, :now - (i * 104729) % 604800000, :now
FROM s
"""


def bulk_load(db_url: str, depth: int) -> tuple[float, list[str]]:
    """Insert ``depth`` open items straight into the database (one statement, then
    ANALYZE); return the seconds it took and the claim query's plan."""
    from sqlalchemy import text

    from report_service.review.queue import store as queue_store
    from report_service.storage.engine import make_engine, make_session_factory

    engine = make_engine(db_url)
    try:
        start = time.perf_counter()
        pg = engine.dialect.name == "postgresql"
        now = time.time_ns() // 1_000_000
        with engine.begin() as conn:
            conn.execute(text(BULK_PG if pg else BULK_SQLITE), {"n": depth, "now": now})
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE" if not pg else "ANALYZE review_items")
            conn.commit()
        took = time.perf_counter() - start
        with make_session_factory(engine)() as session:
            plan = queue_store.explain_claim(session, "general", now)
        return took, plan
    finally:
        engine.dispose()


@dataclass
class DepthResult:
    db: str
    depth: int
    load_s: float
    plan: list[str]
    rounds: list[tuple[str, list[float], list[float]]]  # (phase, subject, baseline) latencies
    in_process: list[float]  # claim_next alone, seconds
    statements: list[int]  # SQL statements per in-process claim
    probes: dict[str, tuple[float, str]]  # database-side cost, old query vs new probes
    #: (phase, claim alone, token check + claim, trivial POST of the same phase), seconds,
    #: measured per round so that min / median / max over rounds can be printed.
    db_layer: list[tuple[str, list[list[float]], list[list[float]], list[list[float]]]] = field(
        default_factory=list
    )
    http_rounds: list[tuple[str, list[list[float]], list[list[float]]]] = field(
        default_factory=list
    )
    pids: int = 0  # distinct worker processes seen at the database layer
    #: database layer, per phase: the claim split at the lock statement (seconds): before
    #: it, the statement (waiting for the lock included), from it to the commit's end
    split: dict[str, tuple[list[float], list[float], list[float]]] = field(default_factory=dict)
    #: database layer, per phase and round: one shared row updated + commit
    #: (``commit_floor``, the floor of claims that all lock one row)
    floor: dict[str, list[list[float]]] = field(default_factory=dict)
    #: the same, each transaction inserting its own row (the floor of claims that share no
    #: lock: only the commit flush)
    own_floor: dict[str, list[list[float]]] = field(default_factory=dict)
    analyze: list[str] = field(default_factory=list)  # EXPLAIN (ANALYZE, BUFFERS), PostgreSQL
    checks: list[str] = field(default_factory=list)


def claims(base: str, token: str, count: int, lat: list[float], lock: threading.Lock) -> None:
    """``count`` claims one after another on one connection, each followed (untimed) by a
    release, so that the queue keeps its depth."""
    with httpx.Client(base_url=base, headers=auth(token), timeout=60.0) as client:
        for _ in range(count):
            start = time.perf_counter()
            r = client.post("/v1/review/queues/general/claim")
            elapsed = time.perf_counter() - start
            if r.status_code != 200:
                raise RuntimeError(f"claim {r.status_code} {r.text[:200]}")
            with lock:
                lat.append(elapsed)
            item = r.json()["item"]["id"]
            client.post(f"/v1/review/items/{item}/release").raise_for_status()


#: The claim query before migration 0007 (an OR into the outer-joined leases and a computed
#: ORDER BY), for comparison in the same run on the same rows.
OLD_CLAIM_SQL = """
SELECT review_items.id, review_items.status, review_leases.moderator
FROM review_items LEFT OUTER JOIN review_leases ON review_leases.item_id = review_items.id
WHERE review_items.queue = 'general' AND (review_items.status = 'open'
    OR (review_items.status = 'claimed'
        AND (review_leases.item_id IS NULL OR review_leases.expires_at <= {now})))
ORDER BY CAST(review_items.priority AS BIGINT) * 120000 - review_items.created_at DESC,
    review_items.id
LIMIT 1{lock}
"""


def probe_costs(db_url: str, repeats: int = 5) -> dict[str, tuple[float, str]]:
    """Database-side cost of finding the item to claim, old query vs the two new probes,
    each the best of ``repeats`` inside a rolled-back transaction: on PostgreSQL the
    server's ``Execution Time`` and the pages touched (``EXPLAIN (ANALYZE, BUFFERS)``),
    on SQLite the in-process time. Independent of HTTP and of the server's Python."""
    from sqlalchemy import text

    from report_service.review.queue import store as queue_store
    from report_service.storage.engine import make_engine

    engine = make_engine(db_url)
    pg = engine.dialect.name == "postgresql"
    now = time.time_ns() // 1_000_000
    old = OLD_CLAIM_SQL.format(
        now=now, lock=" FOR UPDATE OF review_items SKIP LOCKED" if pg else ""
    )
    queries = {
        "old query (before 0007)": [old],
        "new: open probe + expired-lease probe": queue_store.claim_probe_sql(engine.dialect, now),
    }
    out: dict[str, tuple[float, str]] = {}
    try:
        for label, sqls in queries.items():
            best, pages = float("inf"), ""
            for _ in range(repeats):
                took, touched = 0.0, 0
                with engine.connect() as conn:
                    for sql in sqls:
                        if pg:
                            plan = [
                                str(r[0])
                                for r in conn.exec_driver_sql(
                                    "EXPLAIN (ANALYZE, BUFFERS) " + sql.replace("%", "%%")
                                )
                            ]
                            took += next(
                                float(x.split(":")[1].split()[0])
                                for x in plan
                                if x.startswith("Execution Time")
                            )
                            touched += _buffers(plan)
                        else:
                            start = time.perf_counter()
                            conn.execute(text(sql)).all()
                            took += (time.perf_counter() - start) * 1000
                    conn.rollback()
                if took < best:
                    best, pages = took, (f"{touched} pages" if pg else "")
            out[label] = (best, pages)
    finally:
        engine.dispose()
    return out


def _buffers(plan: list[str]) -> int:
    """Shared pages hit or read by the top node of an ``EXPLAIN (ANALYZE, BUFFERS)`` plan
    (its figures include its children's)."""
    for line in plan:
        if "Buffers: shared" in line:
            shared = line.split("shared", 1)[1].split(",")[0]  # "hit=12 read=3 dirtied=1"
            return sum(
                int(part.split("=")[1])
                for part in shared.split()
                if part.split("=")[0] in ("hit", "read")
            )
    return 0


def claim_next_in_process(db_url: str, count: int) -> tuple[list[float], list[int]]:
    """Seconds and SQL statements of ``count`` calls of
    :func:`report_service.review.queue.store.claim_next` with its audit entry (deferred or
    inline as ``frankly serve`` defaults for the database), in this process, each in a
    transaction rolled back afterwards: the database's share of a claim (the one
    transaction the service runs) without HTTP or the server's Python. Statements are
    counted with a ``before_cursor_execute`` listener (SQLite's ``BEGIN IMMEDIATE``
    included; PostgreSQL's ``BEGIN`` and the commit are not cursor statements)."""
    from sqlalchemy import event

    from report_service.review.queue import store as queue_store
    from report_service.settings import Settings
    from report_service.storage.engine import make_engine, make_session_factory

    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    deferred = Settings().audit_deferred(engine.dialect.name)  # as `frankly serve` does
    out: list[float] = []
    statements: list[int] = []
    seen = [0]

    def counter(*_: object) -> None:
        seen[0] += 1

    event.listen(engine, "before_cursor_execute", counter)
    try:
        for _ in range(count):
            with sessions() as session:
                seen[0] = 0
                start = time.perf_counter()
                queue_store.claim_next(
                    session,
                    "general",
                    "bench",
                    time.time_ns() // 1_000_000,
                    60_000,
                    audit_detail=lambda lease, taken: {"expires_at": lease.expires_at},
                    audit_deferred=deferred,
                )
                out.append(time.perf_counter() - start)
                statements.append(seen[0])
                session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", counter)
        engine.dispose()
    return out, statements


def spread(values: list[float]) -> str:
    """``min / median / max``, one decimal."""
    return f"{min(values):.1f} / {statistics.median(values):.1f} / {max(values):.1f}"


def posts(url: str, count: int, lat: list[float], lock: threading.Lock) -> None:
    """``count`` trivial POSTs one after another on one connection."""
    with httpx.Client(timeout=60.0) as client:
        for _ in range(count):
            start = time.perf_counter()
            client.post(url, content=b"{}").raise_for_status()
            elapsed = time.perf_counter() - start
            with lock:
                lat.append(elapsed)


def in_threads(jobs: list[Callable[[], None]]) -> None:
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:  # re-raised below, not lost in a thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def db_round(
    pool: Executor, tokens: Sequence[str], count: int, inline: bool = False
) -> list[Claims]:
    """One round at the database layer: ``count`` claims (each released) from each of
    ``len(tokens)`` worker processes, all starting at the same moment (``inline``: with
    the audit entry chained in the claim's transaction, the design before deferral)."""
    start_at = time.time() + 0.5  # every job is handed to its process before this
    jobs = [pool.submit(claim_and_release, t, count, start_at, inline) for t in tokens]
    return [j.result() for j in jobs]


def floor_round(
    pool: Executor, processes: int, count: int, shared: bool = True
) -> list[tuple[int, tuple[float, ...]]]:
    """The commit floor at the same concurrency: ``count`` one-row writes, each committed,
    from each of ``processes`` worker processes at once (``shared``: all on the same row;
    otherwise each inserting its own)."""
    start_at = time.time() + 0.5
    jobs = [pool.submit(commit_floor, count, start_at, shared) for _ in range(processes)]
    return [j.result() for j in jobs]


def analyze_claim(db_url: str, moderator: str, token: str) -> list[str]:
    """PostgreSQL: ``EXPLAIN (ANALYZE, BUFFERS)`` of every statement a claim request sends
    (the token lookup, the claim statement, the waiting audit entry, the webhook outbox's
    endpoint read), run for real in one transaction that is rolled back; then the claim
    statement and audit append of the inline chain, for comparison."""
    from sqlalchemy import text

    from report_service import tokens as token_hashing
    from report_service.review.queue import store
    from report_service.storage.engine import make_engine

    engine = make_engine(db_url)
    now = time.time_ns() // 1_000_000
    lines: list[str] = []

    def explain(label: str, sql: str, params: dict[str, Any]) -> None:
        # Once in a savepoint rolled back, untimed: a new connection's backend spends
        # milliseconds loading catalog caches on its first statements, which the service's
        # pooled connections have long done.
        with conn.begin_nested() as warm:
            conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params).all()
            warm.rollback()
        lines.append(f"-- {label}")
        rows = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params)
        lines.extend(str(r[0]) for r in rows)

    try:
        with engine.connect() as conn:
            explain(
                "token check (ReviewService.authenticate)",
                "SELECT name, role FROM review_moderators"
                " WHERE token_hash = :h AND revoked_at IS NULL",
                {"h": token_hashing.hash_token(token)},
            )
            claim_params = {"queue": "general", "now": now, "moderator": moderator}
            explain(
                "claim statement (queue.store.claim_next, statement 1)",
                store._CLAIM_PG_DEFERRED,  # the very statement the service sends
                {**claim_params, "expires": now + 1},
            )
            explain(
                "waiting audit entry (audit.store.record_pending, statement 2)",
                "INSERT INTO audit_pending (at_ms, actor, action, item_id, detail)"
                " VALUES (:at_ms, :actor, 'claim', NULL, '{}')",
                {"at_ms": now, "actor": moderator},
            )
            explain(
                "webhook outbox: enabled endpoints (the item.claimed event)",
                "SELECT * FROM webhook_endpoints WHERE enabled IS true ORDER BY id",
                {},
            )
            explain(
                "inline audit chain, for comparison: claim statement with the head lock",
                store._CLAIM_PG,
                {**claim_params, "expires": now + 2},
            )
            seq = int(conn.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar_one())
            explain(
                "inline audit chain: audit entry and new head",
                store._AUDIT_APPEND_PG,
                {
                    "seq": seq + 1,
                    "at_ms": now,
                    "actor": moderator,
                    "action": "claim",
                    "item_id": None,
                    "detail": "{}",
                    "prev_hash": "0" * 64,
                    "entry_hash": "f" * 64,
                },
            )
            conn.rollback()
    finally:
        engine.dispose()
    return lines


def check_claims(db_url: str) -> list[str]:
    """After the rounds (and the chaining of every entry still waiting for the
    sequencer): the chain verifies, every claim in the audit log was followed by a release
    by the same moderator before the item's next claim (no item held by two at once), and
    no lease is left."""
    from sqlalchemy import func, select

    from report_service.review.audit import store
    from report_service.review.audit.chain import verify_chain
    from report_service.review.errors import AuditChainBroken
    from report_service.review.models import LeaseRow
    from report_service.storage.engine import make_engine, make_session_factory

    engine = make_engine(db_url)
    try:
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            waited = store.sequence_pending(session)
        with sessions() as session:
            store.read_one_snapshot(session)
            try:
                verify_chain(store.iter_audit(session), store.audit_head(session))
                broken = None
            except AuditChainBroken as exc:
                broken = str(exc)
            holder: dict[int | None, str | None] = {}
            claims, overlaps = 0, 0
            for e in store.iter_audit(session):
                if e.action == "claim":
                    claims += 1
                    overlaps += holder.get(e.item_id) is not None
                    holder[e.item_id] = e.actor
                elif e.action == "release":
                    overlaps += holder.get(e.item_id) != e.actor
                    holder[e.item_id] = None
            left = session.execute(select(func.count()).select_from(LeaseRow)).scalar_one()
    finally:
        engine.dispose()
    return [
        check(
            broken is None,
            f"audit chain verifies against its head ({waited} entries were still waiting "
            f"for the sequencer at the end){'' if broken is None else ': ' + broken}",
        ),
        check(
            overlaps == 0,
            f"audit log: {claims} claims, each released by its holder before the item's "
            "next claim (never handed to two)",
        ),
        check(left == 0, "no lease left after the rounds"),
    ]


def run_depth(
    name: str,
    data: Path,
    db_url: str | None,
    depth: int,
    moderators: int,
    rounds: int,
    per_round: int,
    baseline_url: str,
    workers: int = 1,
) -> DepthResult:
    """Load ``depth`` items, then ``rounds`` interleaved rounds of: ``per_round`` trivial
    POSTs one at a time, ``per_round`` claims one at a time, ``per_round`` POSTs from each of
    ``moderators`` threads at once, ``per_round`` claims from each of ``moderators``
    moderators at once (over HTTP), then the same claims at the database layer from one
    worker process and from ``moderators`` worker processes at once. The service and the
    baseline each run ``workers`` processes."""
    from report_service.storage.engine import make_engine

    service = ServiceProcess(data, db_url, workers=workers)
    try:
        base = service.start()
        admin = service.cli("moderators", "add", "bench-admin", "--role", "admin")
        tokens: list[str] = []
        with httpx.Client(base_url=base, headers=auth(admin), timeout=60.0) as client:
            for i in range(moderators):
                r = client.post(
                    "/v1/review/moderators", json={"name": f"mod-{i:02d}", "role": "moderator"}
                )
                r.raise_for_status()
                tokens.append(r.json()["token"])
        url = db_url or f"sqlite:///{(data / 'frankly.sqlite').resolve()}"
        load_s, plan = bulk_load(url, depth)
        probes = probe_costs(url)
        floor_engine = make_engine(url)
        try:
            create_floor(floor_engine)
        finally:
            floor_engine.dispose()
        lock = threading.Lock()
        one_name, many_name = "1 moderator", f"{moderators} moderators"
        phases: dict[str, tuple[list[float], list[float]]] = {
            one_name: ([], []),
            many_name: ([], []),
        }
        http: dict[str, tuple[list[list[float]], list[list[float]]]] = {
            one_name: ([], []),
            many_name: ([], []),
        }
        many_processes = f"{moderators} processes"
        # On PostgreSQL also the inline audit chain (the design before deferral), in the
        # same rounds: on SQLite the two are the same (its writers share one lock anyway).
        inline_phase = f"{moderators} processes, inline audit chain"
        db: dict[str, tuple[list[list[float]], list[list[float]], list[list[float]]]] = {
            "1 process": ([], [], []),
            many_processes: ([], [], []),
        }
        if db_url:
            db[inline_phase] = ([], [], [])
        in_process: list[float] = []
        statements: list[int] = []
        pids: set[int] = set()
        floor: dict[str, list[list[float]]] = {k: [] for k in db}
        own_floor: dict[str, list[list[float]]] = {k: [] for k in db}
        split: dict[str, tuple[list[float], list[float], list[float]]] = {
            k: ([], [], []) for k in db
        }
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(moderators, spawn, initializer=start, initargs=(url,)) as pool:
            db_round(pool, tokens, 1)  # warm every process (imports, connections): untimed
            for _ in range(rounds):
                lat: dict[str, list[float]] = {k: [] for k in ("p1", "c1", "p8", "c8")}
                posts(baseline_url, per_round, lat["p1"], lock)
                claims(base, tokens[0], per_round, lat["c1"], lock)
                in_threads(
                    [functools.partial(posts, baseline_url, per_round, lat["p8"], lock)]
                    * moderators
                )
                in_threads(
                    [functools.partial(claims, base, t, per_round, lat["c8"], lock) for t in tokens]
                )
                for phase, claim_key, post_key in (
                    (one_name, "c1", "p1"),
                    (many_name, "c8", "p8"),
                ):
                    phases[phase][0].extend(lat[claim_key])
                    phases[phase][1].extend(lat[post_key])
                    http[phase][0].append(lat[claim_key])
                    http[phase][1].append(lat[post_key])
                for phase, (alone, whole, posts_of) in db.items():
                    subset = tokens[:1] if phase == "1 process" else tokens
                    inline = phase == inline_phase
                    done = db_round(pool, subset, per_round, inline)
                    pids.update(c.pid for c in done if phase != "1 process")
                    alone.append([x for c in done for x in c.claim_s])
                    whole.append([x for c in done for x in c.request_s])
                    posts_of.append(lat["p1" if phase == "1 process" else "p8"])
                    for into, shared in ((floor, True), (own_floor, False)):
                        measured = floor_round(pool, len(subset), per_round, shared)
                        into[phase].append([x for _, took in measured for x in took])
                    for c in done:
                        split[phase][0].extend(c.before_lock_s)
                        split[phase][1].extend(c.lock_statement_s)
                        split[phase][2].extend(c.lock_held_s)
                took, sent = claim_next_in_process(url, per_round)
                in_process += took
                statements += sent
        analyze = analyze_claim(url, "mod-00", tokens[0]) if db_url else []
        checks = check_claims(url)
        checks.append(
            check(
                len(pids) == moderators,
                f"database layer: {len(pids)} distinct worker processes claimed at once",
            )
        )
        return DepthResult(
            name,
            depth,
            load_s,
            plan,
            [(k, v[0], v[1]) for k, v in phases.items()],
            in_process,
            statements,
            probes,
            [(k, *v) for k, v in db.items()],
            [(k, *v) for k, v in http.items()],
            len(pids),
            split,
            floor,
            own_floor,
            analyze,
            checks,
        )
    finally:
        service.stop()


def main_depth(args: argparse.Namespace) -> int:
    results: list[DepthResult] = []
    with tempfile.TemporaryDirectory() as tmp, baseline_server(args.workers) as baseline_url:
        backends: list[tuple[str, str | None, Callable[[], None] | None]] = []
        if not args.postgres_only:
            backends.append(("sqlite", None, None))
        pg = postgres_database(args.postgres_url) if args.postgres_url else None
        if pg is not None:
            backends.append(("postgresql", pg[0], pg[1]))
        else:
            print("postgresql: not asked for or unreachable, skipped")
        for name, db_url, drop in backends:
            try:
                r = run_depth(
                    name,
                    Path(tmp) / f"data-{name}",
                    db_url,
                    args.depth,
                    args.moderators,
                    args.rounds,
                    args.per_round,
                    baseline_url,
                    args.workers,
                )
            finally:
                if drop is not None:
                    drop()
            results.append(r)
            print(f"\n{name}: {r.depth} items loaded in {r.load_s:.1f} s; claim query plan:")
            for line in r.plan:
                print(f"    {line}")
    print(
        "\n| database | depth | claimers | claims | claim p50 / p99 / max "
        "| trivial POST p50 / p99 | p99 ratio (POST / claim) |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for r in results:
        for phase, lat, base in r.rounds:
            print(
                f"| {r.db} | {r.depth} | {phase} | {len(lat)} "
                f"| {pct(lat, 0.5):.1f} / {pct(lat, 0.99):.1f} / {max(lat) * 1000:.1f} ms "
                f"| {pct(base, 0.5):.1f} / {pct(base, 0.99):.1f} ms "
                f"| {pct(base, 0.99) / pct(lat, 0.99):.2f} |"
            )
    print(
        "(latencies over HTTP on a shared machine: compare claim to the trivial POST of the "
        "same rounds, not across runs; each claim is followed, untimed, by a release)"
    )
    print(
        "\n| database | depth | queue_store.claim_next + audit entry in process: calls "
        "| p50 / p99 / max | SQL statements per claim (min / max) |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in results:
        lat = r.in_process
        print(
            f"| {r.db} | {r.depth} | {len(lat)} "
            f"| {pct(lat, 0.5):.2f} / {pct(lat, 0.99):.2f} / {max(lat) * 1000:.2f} ms "
            f"| {min(r.statements)} / {max(r.statements)} |"
        )
    print("\n| database | depth | finding the next item | database time (best of 5) | pages |")
    print("| --- | ---: | --- | ---: | ---: |")
    for r in results:
        for label, (ms, pages) in r.probes.items():
            print(f"| {r.db} | {r.depth} | {label} | {ms:.3f} ms | {pages} |")
    print(
        "\n| database | depth | layer | claimers | claims | p50 / p99 (all rounds) "
        "| p99 per round: min / median / max | trivial POST p99 per round, same rounds |"
    )
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: |")
    for r in results:
        rows: list[tuple[str, str, list[list[float]], list[list[float]]]] = [
            ("HTTP claim", phase, lats, floor) for phase, lats, floor in r.http_rounds
        ]
        for phase, alone, whole, floor in r.db_layer:
            rows.append(("database layer: claim", phase, alone, floor))
            rows.append(("database layer: token check + claim", phase, whole, floor))
            shared, own = r.floor[phase], r.own_floor[phase]
            rows.append(("database layer: shared-row update + commit", phase, shared, floor))
            rows.append(("database layer: own-row insert + commit", phase, own, floor))
        for layer, phase, per_round, floor in rows:
            flat = [x for one in per_round for x in one]
            print(
                f"| {r.db} | {r.depth} | {layer} | {phase} | {len(flat)} "
                f"| {pct(flat, 0.5):.2f} / {pct(flat, 0.99):.2f} ms "
                f"| {spread([pct(x, 0.99) for x in per_round])} ms "
                f"| {spread([pct(x, 0.99) for x in floor])} ms |"
            )
    print(
        "\n| database | depth | database layer | p99 ratio per round, claim / shared-row "
        "commit: min / median / max | token check + claim / shared-row commit "
        "| claim / own-row commit | token check + claim / own-row commit |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for r in results:
        for phase, alone, whole, _ in r.db_layer:
            ratios = [
                spread([pct(x, 0.99) / pct(f, 0.99) for x, f in zip(lat, floors, strict=True)])
                for floors in (r.floor[phase], r.own_floor[phase])
                for lat in (alone, whole)
            ]
            print(f"| {r.db} | {r.depth} | {phase} | {' | '.join(ratios)} |")
    print(
        "(database layer: ReviewService.authenticate + ReviewService.claim called in worker "
        "processes, as the claim route calls them, without HTTP; each claim released after, "
        "untimed. The trivial POST column is the HTTP floor of the same round at the same "
        "concurrency: it bounds what any HTTP claim can show on this machine)"
    )
    print(
        "\n| database | depth | database layer | claims | before the claim statement "
        "| claim statement (waiting included) | from it to the commit's end |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for r in results:
        for phase, parts in r.split.items():
            cells = " | ".join(f"{pct(x, 0.5):.2f} / {pct(x, 0.99):.2f} ms" for x in parts)
            print(f"| {r.db} | {r.depth} | {phase} | {len(parts[0])} | {cells} |")
    print(
        "(each cell p50 / p99; the split is at PostgreSQL's claim statement, which with the "
        "inline audit chain locks the chain's head until the commit (deferred: it locks "
        "only its own item, SKIP LOCKED), and at SQLite's BEGIN IMMEDIATE, which takes the "
        "database write lock until the commit)"
    )
    for r in results:
        if r.analyze:
            print(f"\n{r.db} at depth {r.depth}: EXPLAIN (ANALYZE, BUFFERS) of a claim request")
            for line in r.analyze:
                print(f"    {line}")
    for r in results:
        print(f"\n{r.db} at depth {r.depth}:")
        for line in r.checks:
            print(f"  {line}")
    last = results[-1]
    many = f"{args.moderators} processes"
    whole = next(w for phase, _, w, _ in last.db_layer if phase == many)
    db_p99 = pct([x for one in whole for x in one], 0.99)
    own_p99 = pct([x for one in last.own_floor[many] for x in one], 0.99)
    print(f"own-row commit floor p99 ms, same rounds, {last.pids} processes at once: {own_p99:.1f}")
    print(
        f"claim p99 ms at depth {last.depth} (database layer, {last.db}, {last.pids} processes "
        f"at once, token check + claim, no HTTP): {db_p99:.1f}"
    )
    worst = max(pct(lat, 0.99) for _, lat, _ in last.rounds)
    print(f"(last line: {last.db}, over HTTP, the worse p99 of 1 and {args.moderators} claimers)")
    print(f"claim p99 ms at depth {last.depth}: {worst:.1f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=400, help="review items to drain")
    parser.add_argument("--moderators", type=int, default=16, help="concurrent moderators")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "FRANKLY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="server to create a scratch database on; '' for SQLite only",
    )
    parser.add_argument(
        "--depth",
        type=int,
        default=0,
        help="instead of the drain: load N items straight into the database and time claims",
    )
    parser.add_argument("--rounds", type=int, default=5, help="--depth: interleaved rounds")
    parser.add_argument(
        "--per-round", type=int, default=40, help="--depth: claims per claimer per round"
    )
    parser.add_argument(
        "--postgres-only", action="store_true", help="--depth: skip SQLite (slow to load 1M)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="--depth: server processes of the service and of the baseline (serve --workers)",
    )
    args = parser.parse_args(argv)
    if args.depth:
        if args.moderators == parser.get_default("moderators"):
            args.moderators = 8
        return main_depth(args)

    results: list[Result] = []
    base_runs: list[tuple[float, list[float]]] = []
    with tempfile.TemporaryDirectory() as tmp, baseline_server() as url:

        def baseline() -> None:
            # As many requests as one drain sends, from as many threads, in two halves
            # around each drain (interleaved with the subject).
            base_runs.append(load(url, [b"{}"] * args.items, {}, args.moderators, 200))

        backends: list[tuple[str, str | None, Callable[[], None] | None]] = [("sqlite", None, None)]
        pg = postgres_database(args.postgres_url) if args.postgres_url else None
        if pg is not None:
            backends.append(("postgresql", pg[0], pg[1]))
        else:
            print("postgresql: not asked for or unreachable, skipped")
        for name, db_url, drop in backends:
            baseline()
            try:
                r = run_backend(
                    name, Path(tmp) / f"data-{name}", db_url, args.items, args.moderators
                )
            finally:
                if drop is not None:
                    drop()
            baseline()
            results.append(r)
            print(f"\n{name}: intake made the items at {r.intake_rps:.1f} reports/s")
            for line in r.checks:
                print(f"  {line}")
    base_rps = statistics.median(rps for rps, _ in base_runs)
    base_lat = [x for _, lat in base_runs for x in lat]
    print(
        f"baseline  trivial FastAPI POST, {args.moderators} threads, {len(base_runs)} runs "
        f"around the drains: median {base_rps:8.1f} req/s (min "
        f"{min(r for r, _ in base_runs):.1f}, max {max(r for r, _ in base_runs):.1f})"
    )

    print(
        "\n| database | moderators | items | items/s | requests/s | claim p50 / p99 "
        "| decide p50 / p99 | ratio to trivial endpoint |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| (baseline) trivial FastAPI POST | {args.moderators} | | | {base_rps:.0f} "
        f"| {pct(base_lat, 0.5):.1f} / {pct(base_lat, 0.99):.1f} ms | | 1 |"
    )
    for r in results:
        d = r.drain
        rps = d.requests / d.wall_s
        print(
            f"| {r.db} | {r.moderators} | {r.items} | {r.items / d.wall_s:.0f} | {rps:.0f} "
            f"| {pct(d.claim_lat, 0.5):.1f} / {pct(d.claim_lat, 0.99):.1f} ms "
            f"| {pct(d.decide_lat, 0.5):.1f} / {pct(d.decide_lat, 0.99):.1f} ms "
            f"| {rps / base_rps:.2f} |"
        )
    print("\n| database | audit entries | check | time | baseline | baseline time | ratio |")
    print("| --- | ---: | --- | ---: | --- | ---: | ---: |")
    for r in results:
        per_entry = r.http_verify_s - r.http_floor_s
        rate = f" (about {r.entries / per_entry:,.0f} entries/s)" if per_entry > 0 else ""
        print(
            f"| {r.db} | {r.entries} | `frankly audit verify` | {r.cli_verify_s * 1000:.0f} ms "
            f"| `frankly audit show --limit 1` | {r.cli_floor_s * 1000:.0f} ms "
            f"| {r.cli_floor_s / r.cli_verify_s:.2f} |"
        )
        print(
            f"| {r.db} | {r.entries} | `GET /v1/audit/verify`{rate} "
            f"| {r.http_verify_s * 1000:.1f} ms | `GET /v1/review/me` "
            f"| {r.http_floor_s * 1000:.1f} ms | {r.http_floor_s / r.http_verify_s:.2f} |"
        )
    print(
        json.dumps(
            {
                "baseline_rps": round(base_rps, 1),
                "results": [
                    {
                        "db": r.db,
                        "items": r.items,
                        "moderators": r.moderators,
                        "items_per_s": round(r.items / r.drain.wall_s, 1),
                        "requests_per_s": round(r.drain.requests / r.drain.wall_s, 1),
                        "ratio": round(r.drain.requests / r.drain.wall_s / base_rps, 3),
                        "audit_entries": r.entries,
                        "cli_verify_ms": round(r.cli_verify_s * 1000, 1),
                        "cli_floor_ms": round(r.cli_floor_s * 1000, 1),
                        "http_verify_ms": round(r.http_verify_s * 1000, 2),
                        "http_floor_ms": round(r.http_floor_s * 1000, 2),
                    }
                    for r in results
                ],
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
