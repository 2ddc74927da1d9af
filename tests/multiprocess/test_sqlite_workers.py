"""``frankly serve --workers 2`` on the embedded SQLite default: two server processes
store reports into one file at once, taking turns on the write turn beside it
(:mod:`report_service.storage.write_turn`), and lose none."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import func, select

from report_service.app import wall_clock_ms
from report_service.keys import KeyMaterial
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.models import Report as ReportRow
from report_service.storage.write_turn import LOCK_SUFFIX
from tests.report_service.conftest import FakeClock, Franker

from .conftest import STARTUP_TIMEOUT_S, _setup, _wait_ready, free_port
from .test_shared_state import post_report, together

pytestmark = [pytest.mark.multiprocess]

REPORTS_PER_REPORTER = 6
REPORTERS = 8


@dataclass
class SqliteServer:
    url: str
    database: Path
    keys: KeyMaterial
    reporters: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteServer]:
    data_dir = tmp_path_factory.mktemp("sqlite-workers") / "data"
    database = data_dir / "frankly.sqlite"
    database_url = f"sqlite:///{database}"
    keys, reporters, _moderators = _setup(database_url, data_dir)
    env = {
        **os.environ,
        "FRANKLY_ENVIRONMENT": "development",
        "FRANKLY_DATABASE_URL": database_url,
        "FRANKLY_RATE_LIMIT_BURST": "1000",
        "FRANKLY_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    frankly = Path(sys.executable).with_name("frankly")
    proc = subprocess.Popen(
        [str(frankly), "serve", "--data", str(data_dir), "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(proc, url, time.monotonic() + STARTUP_TIMEOUT_S)
        yield SqliteServer(url, database, keys, reporters)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_two_workers_store_every_concurrent_report_once(server: SqliteServer) -> None:
    franker = Franker(keys=server.keys, clock=FakeClock(now_ms=wall_clock_ms()))
    sent: list[tuple[str, str, bytes]] = []
    for n in range(REPORTERS):
        reporter = f"r{n}"
        for i in range(REPORTS_PER_REPORTER):
            message = franker.frank("mallory", reporter, f"abuse {n}.{i}")
            report = franker.report(reporter, [message])
            sent.append((report.report_id, server.reporters[reporter], franker.seal(report)))
    calls = [partial(post_report, server.url, token, body) for _rid, token, body in sent]
    answers = together(calls)
    assert [a.status_code for a in answers] == [201] * len(sent)
    # A repeat of each, as concurrently: every one answers the first answer, stores nothing.
    repeats = together(calls)
    assert [r.status_code for r in repeats] == [200] * len(sent)
    assert [r.json()["report_id"] for r in repeats] == [rid for rid, _t, _b in sent]

    engine = make_engine(f"sqlite:///{server.database}")
    try:
        with make_session_factory(engine, read_only=True)() as session:
            stored = set(session.scalars(select(ReportRow.report_id)))
            count = session.scalar(select(func.count()).select_from(ReportRow))
    finally:
        engine.dispose()
    assert stored == {rid for rid, _t, _b in sent}
    assert count == len(sent)
    lock = server.database.with_name(server.database.name + LOCK_SUFFIX)
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600  # the workers' turn, beside the file
