"""State shared between processes lives in the database: hash banks and rate limits.

Each "process" here is its own engine, :class:`HashBanks` or :class:`SharedRateLimiter`
over the same database, driven from threads; ``tests/multiprocess`` does the same with
real server processes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from hashes.lists import TrustPolicy, load_list, trusted_state
from hashes.values import Algorithm, HashValue
from report_service import banks as banks_module
from report_service.banks import SERVICE_LIST_ID, HashBanks
from report_service.errors import RateLimited
from report_service.keys import KeyMaterial
from report_service.ratelimit import SharedRateLimiter, gcra
from report_service.storage.base import Base
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from report_service.storage.models import HashListVersion
from report_service.storage.shared import RateLimitRow, SharedCounter

from .conftest import FakeClock, Service, make_service


def pdq(n: int) -> HashValue:
    """A PDQ value far (Hamming > 31) from every other ``n``."""
    return HashValue(Algorithm.PDQ, bytes([n]) * 16 + bytes([255 - n]) * 16)


@pytest.fixture
def processes(database_url: str) -> Iterator[Callable[[], sessionmaker[Session]]]:
    """``new()`` opens one more independent "process" (engine) on the database."""
    upgrade_database(database_url)
    engines: list[Engine] = []

    def new() -> sessionmaker[Session]:
        engine = make_engine(database_url)
        engines.append(engine)
        return make_session_factory(engine)

    yield new
    for engine in engines:
        engine.dispose()


def banks_on(sessions: sessionmaker[Session], keys: KeyMaterial) -> HashBanks:
    engine = sessions.kw["bind"]
    return HashBanks(sessions, keys.curator).listen(engine).load()


def no_safety_net(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switch off the 5 s re-check made while the LISTEN thread is connected, so that a
    change can only arrive by notification (PostgreSQL) or by polling (SQLite, or while
    the listener is away): the tests then wait on the change itself, with a deadline far
    past any timing, instead of timing it against 1 s (a loaded machine missed that)."""
    monkeypatch.setattr(banks_module, "LISTENING_CHECK_INTERVAL_S", 3600.0)


def wait_for_match(banks: HashBanks, value: HashValue, what: str) -> None:
    deadline = time.monotonic() + 60.0
    while not banks.match([value]):
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_a_bank_change_in_one_process_is_matched_in_another_without_a_restart(
    processes: Callable[[], sessionmaker[Session]],
    keys: KeyMaterial,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (How fast is for benchmarks: matching re-reads a moved counter at once when
    # notified, or within check_interval_ms.)
    no_safety_net(monkeypatch)
    writer, reader = banks_on(processes(), keys), banks_on(processes(), keys)
    try:
        assert reader.match([pdq(1)]) == []
        writer.add_entry(pdq(1), "csam", "e1", 1)
        wait_for_match(reader, pdq(1), "never visible in the other process")
        assert reader.holds(pdq(1), "csam")
        assert reader.lists[SERVICE_LIST_ID].header.version == 1
    finally:
        writer.close()
        reader.close()


def test_banking_from_several_processes_at_once_builds_one_chain(
    processes: Callable[[], sessionmaker[Session]], keys: KeyMaterial
) -> None:
    banks = [banks_on(processes(), keys) for _ in range(3)]
    barrier = threading.Barrier(6)

    def bank(n: int) -> int:
        barrier.wait()
        return banks[n % 3].add_entry(pdq(n + 1), "csam", f"e{n}", n).version

    try:
        with ThreadPoolExecutor(6) as pool:
            versions = sorted(pool.map(bank, range(6)))
        assert versions == [1, 2, 3, 4, 5, 6]
        with banks[0]._sessions() as session:
            rows = session.execute(
                select(HashListVersion.data)
                .where(HashListVersion.list_id == SERVICE_LIST_ID)
                .order_by(HashListVersion.version)
            ).all()
        policy = TrustPolicy(curator_keys={"svc": keys.curator.public_key})
        held = load_list(bytes(rows[0][0]), policy)
        for (data,) in rows[1:]:
            held = load_list(bytes(data), policy, trusted_state(held))
        assert len(held) == 6
        # Every process banks idempotently against what the others stored.
        assert banks[1].add_entry(pdq(1), "csam", "again", 9).version == 6
    finally:
        for b in banks:
            b.close()


def test_shared_rate_limit_is_exact_across_processes(
    processes: Callable[[], sessionmaker[Session]],
) -> None:
    limiters = [SharedRateLimiter(processes(), per_minute=1, burst=7) for _ in range(2)]
    barrier = threading.Barrier(8)

    def hammer(n: int) -> int:
        barrier.wait()
        granted = 0
        for _ in range(5):
            try:
                limiters[n % 2].check("bob", 1_000)
            except RateLimited:
                continue
            granted += 1
        return granted

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(hammer, range(8))) == 7
    limiters[0].check("carol", 1_000)  # per caller


@pytest.fixture(scope="module")
def gcra_limiter_sessions(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('gcra') / 'frankly.sqlite'}"
    upgrade_database(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


@given(
    st.integers(1, 5),
    st.sampled_from([1.0, 6.0, 60.0, 600.0]),
    st.lists(st.integers(0, 20_000), min_size=1, max_size=30),
)
def test_the_stored_limit_follows_gcra(
    gcra_limiter_sessions: sessionmaker[Session],
    burst: int,
    per_minute: float,
    gaps: list[int],
) -> None:
    limiter = SharedRateLimiter(gcra_limiter_sessions, per_minute, burst)
    key = uuid.uuid4().hex  # a new caller for every example
    interval = round(60_000_000 / per_minute)
    tat: int | None = None
    now = 0
    for gap in gaps:
        now += gap
        new_tat, wait = gcra(tat, now * 1000, interval, burst)
        refused: RateLimited | None = None
        try:
            limiter.check(key, now)
        except RateLimited as exc:
            refused = exc
        if wait is None:
            assert refused is None
            tat = new_tat
        else:
            assert refused is not None
            assert refused.retry_after_s == pytest.approx(wait, abs=1e-6)


@pytest.fixture
def limited_service(
    sqlite_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock
) -> Iterator[Service]:
    for svc in make_service(
        sqlite_url, tmp_path, keys, clock, rate_limit_per_minute=600, rate_limit_burst=1
    ):
        svc.add_user("bob")
        yield svc


def test_a_429_says_the_same_wait_in_its_body_and_its_header(limited_service: Service) -> None:
    s = limited_service
    assert s.submit("bob", b"junk").status_code == 400
    limited = s.submit("bob", b"junk")  # 0.1 s to wait: the old body said "retry after 0 s"
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert limited.json()["error"]["message"] == "rate limit exceeded; retry after 1 s"


def test_migration_0006_creates_the_declared_shared_tables(database_url: str) -> None:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(mc, Base.metadata)
            seeded = conn.execute(
                select(SharedCounter.generation).where(SharedCounter.name == "banks")
            ).scalar_one()
        ours = {SharedCounter.__tablename__, RateLimitRow.__tablename__, "bank_curators"}
        assert [d for d in diff if ours & set(map(str, _tables_of(d)))] == []
        assert seeded == 0
    finally:
        engine.dispose()


def _tables_of(diff: object) -> list[object]:
    items = diff if isinstance(diff, list) else [diff]
    names: list[object] = []
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            name = getattr(part, "name", None) if not isinstance(part, str) else part
            table = getattr(part, "table", None)
            names += [name, getattr(table, "name", None)]
    return names


def test_the_stored_limit_refills_at_its_rate(
    processes: Callable[[], sessionmaker[Session]],
) -> None:
    limiter = SharedRateLimiter(processes(), per_minute=60, burst=2)  # one a second
    limiter.check("bob", 0)
    limiter.check("bob", 0)
    with pytest.raises(RateLimited) as first:
        limiter.check("bob", 250)
    assert first.value.retry_after_s == pytest.approx(0.75)
    limiter.check("bob", 1_000)
    with pytest.raises(RateLimited):
        limiter.check("bob", 1_500)
    limiter.check("bob", 4_000)  # idle time refills up to the burst, no further
    limiter.check("bob", 4_000)
    with pytest.raises(RateLimited):
        limiter.check("bob", 4_000)


def test_serve_refuses_fewer_than_one_worker(capsys: pytest.CaptureFixture[str]) -> None:
    from frankly.cli import main

    assert main(["serve", "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err


@pytest.mark.postgres
def test_a_lost_listener_connection_falls_back_to_polling_and_reconnects(
    postgres_url: str, keys: KeyMaterial, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    no_safety_net(monkeypatch)
    upgrade_database(postgres_url)
    engines = [make_engine(postgres_url), make_engine(postgres_url)]
    writer = HashBanks(make_session_factory(engines[0]), keys.curator).load()
    reader = HashBanks(make_session_factory(engines[1]), keys.curator).listen(engines[1]).load()
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        deadline = time.monotonic() + 60
        while not (reader._listener is not None and reader._listener.alive):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with psycopg.connect(dsn, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            ).fetchone()
        assert killed == (1,)
        writer.add_entry(pdq(5), "csam", "e5", 1)  # while the listener is away
        wait_for_match(reader, pdq(5), "neither polling nor the reconnection saw it")
        deadline = time.monotonic() + 60
        while not reader._listener.alive:  # it comes back by itself
            assert time.monotonic() < deadline
            time.sleep(0.05)
        writer.add_entry(pdq(6), "csam", "e6", 2)
        wait_for_match(reader, pdq(6), "the reconnected listener was not notified")
    finally:
        reader.close()
        for engine in engines:
            engine.dispose()
