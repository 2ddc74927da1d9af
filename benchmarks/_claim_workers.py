"""Claim-next at the database layer, from several worker processes (issue 11).

Each worker process builds, once, what ``create_app`` gives the review API: an engine
on the database URL, the session factories (one for writes, one read-only for token
checks), the webhook outbox hook as ``events``, and a :class:`ReviewService` over them.
On SQLite it also takes the writers' turn that ``frankly serve`` takes
(:func:`~report_service.storage.write_turn.write_turn_for`: a lock file shared by the
processes, which wakes the next writer at once instead of leaving it in SQLite's busy
handler), and so do the commit floors below, so that both are measured as the service
runs. A job then makes ``count`` claims as the claim route does, without HTTP:
``ReviewService.authenticate(token)`` (the token lookup every request makes) then
``ReviewService.claim(actor, "general")`` (one transaction: probes, lease, audit entry,
outbox), each followed, untimed, by ``ReviewService.release`` so that the queue keeps its
depth (what the HTTP mode does too). Processes, not threads, so the claimers do not
share a GIL; all the jobs of a round wait for one start time so they really overlap.

Each worker builds two services: one as ``frankly serve`` builds it by default
(``FRANKLY_AUDIT_SEQUENCING=auto``: on PostgreSQL the claim's audit entry is recorded for
the sequencer and no shared lock is taken; on SQLite the database write lock serialises
writers anyway), and one with the audit entry chained inline, the design before, where
every claim locks the audit chain's head (``SELECT ... FOR UPDATE`` of ``audit_head``
inside the claim statement) and holds it until its commit.

Where a claim's time goes: each claim is split, with SQLAlchemy cursor events, at its
claim statement (PostgreSQL) or ``BEGIN IMMEDIATE`` (SQLite, where the write lock is
taken): the time before it (on SQLite, the wait for the writers' turn included), the
statement itself (waiting for any lock included) and the time from it to the commit's end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from report_service.escalation.webhooks.outbox import event_hook
from report_service.review.service import ReviewService
from report_service.settings import Settings
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.write_turn import write_turn_for

#: This worker process's services, built by ``start``: keyed by ``inline`` (the audit
#: entry chained in the claim's transaction under the head lock) or not (the default).
_SERVICES: dict[bool, ReviewService] = {}
_ENGINE: list[Engine] = []
#: The SQLite writers' turn of this process (``nullcontext`` on PostgreSQL).
_TURN: list[Callable[[], AbstractContextManager[None]]] = []
_LOCK_MARKS: dict[str, float] = {}  # perf_counter at the marked statement's start and end


def takes_the_lock(statement: str) -> bool:
    """Whether ``statement`` is the one a claim is split at: PostgreSQL's claim statement
    (with the inline audit chain it locks the head) or SQLite's ``BEGIN IMMEDIATE``."""
    return statement == "BEGIN IMMEDIATE" or statement.lstrip().startswith("WITH fresh AS")


def _before(_conn: object, _cursor: object, statement: str, *_: object) -> None:
    if takes_the_lock(statement):
        _LOCK_MARKS["start"] = time.perf_counter()


def _after(_conn: object, _cursor: object, statement: str, *_: object) -> None:
    if takes_the_lock(statement):
        _LOCK_MARKS["end"] = time.perf_counter()


def wall_clock_ms() -> int:
    """Milliseconds since the epoch (the service's clock)."""
    return time.time_ns() // 1_000_000


class NoEvidence:
    """Claims read no evidence; an :class:`EvidenceReader` that is never called."""

    def read(self, session: Session, report_id: str, kind: str, ref: str) -> bytes | None:
        raise RuntimeError("a claim does not read evidence")


def start(db_url: str) -> None:
    """Pool initializer: build this process's engine and service (not timed)."""
    engine = make_engine(db_url)
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)
    _ENGINE.append(engine)
    turn = write_turn_for(engine)
    _TURN.append(turn or nullcontext)
    default = Settings().audit_deferred(engine.dialect.name)
    for inline in (False, True):
        _SERVICES[inline] = ReviewService(
            make_session_factory(engine),
            wall_clock_ms,
            NoEvidence(),
            read_session_factory=make_session_factory(engine, read_only=True),
            events=event_hook(wall_clock_ms),
            audit_deferred=default and not inline,
            write_turn=turn,
        )


@dataclass(frozen=True, slots=True)
class Claims:
    """What one job measured: its process, and per claim the seconds of the claim alone
    and of the token check plus the claim (what the route does after parsing), and the
    claim split at the lock statement (see the module's docstring)."""

    pid: int
    items: tuple[int, ...]
    claim_s: tuple[float, ...]
    request_s: tuple[float, ...]
    before_lock_s: tuple[float, ...]
    lock_statement_s: tuple[float, ...]
    lock_held_s: tuple[float, ...]


def claim_and_release(token: str, count: int, start_at: float, inline: bool = False) -> Claims:
    """``count`` timed (token check + claim), each followed by an untimed release, from
    ``start_at`` (``time.time()``) on; ``inline``: with the audit entry chained inline."""
    service = _SERVICES[inline]
    time.sleep(max(0.0, start_at - time.time()))
    items: list[int] = []
    claim_s: list[float] = []
    request_s: list[float] = []
    split: tuple[list[float], list[float], list[float]] = ([], [], [])
    for _ in range(count):
        _LOCK_MARKS.clear()
        t0 = time.perf_counter()
        actor = service.authenticate(token)
        t1 = time.perf_counter()
        out = service.claim(actor, "general")
        t2 = time.perf_counter()
        items.append(out.item.id)
        claim_s.append(t2 - t1)
        request_s.append(t2 - t0)
        start, end = _LOCK_MARKS["start"], _LOCK_MARKS["end"]  # the last try's, on a retry
        split[0].append(start - t1)
        split[1].append(end - start)
        split[2].append(t2 - end)
        service.release(actor, out.item.id)
    return Claims(
        os.getpid(),
        tuple(items),
        tuple(claim_s),
        tuple(request_s),
        *(tuple(x) for x in split),
    )


def create_floor(engine: Engine) -> None:
    """Create ``bench_commit_floor`` (in the benchmark's scratch database only): one row
    that every shared-floor transaction updates, as every inline claim updates the audit
    head; and ``bench_commit_rows``, where every own-row transaction inserts its own row."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bench_commit_floor (id INTEGER PRIMARY KEY, v INTEGER)")
        conn.exec_driver_sql("INSERT INTO bench_commit_floor VALUES (1, 0)")
        conn.exec_driver_sql("CREATE TABLE bench_commit_rows (w INTEGER, v INTEGER)")


def commit_floor(count: int, start_at: float, shared: bool = True) -> tuple[int, tuple[float, ...]]:
    """``count`` timed transactions that each write one row and commit durably, from
    ``start_at`` on. ``shared``: all update the same row, so each waits for the previous
    one's commit flush (what any claim costs while every claim moves one shared row, the
    audit head, which stays locked until its commit is flushed); otherwise each inserts
    its own row, and concurrent commits share nothing but the log (PostgreSQL flushes
    concurrent commits together): the floor of a claim that takes no shared lock."""
    engine = _ENGINE[0]
    time.sleep(max(0.0, start_at - time.time()))
    took: list[float] = []
    bump = text(
        "UPDATE bench_commit_floor SET v = v + 1 WHERE id = 1"
        if shared
        else "INSERT INTO bench_commit_rows VALUES (1, 0)"
    )
    with engine.connect() as conn:
        for _ in range(count):
            t0 = time.perf_counter()
            with _TURN[0](), conn.begin():
                conn.execute(bump)
            took.append(time.perf_counter() - t0)
    return os.getpid(), tuple(took)
