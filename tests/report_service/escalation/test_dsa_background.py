"""The DSA statement submitter as a background thread of ``frankly serve``, against the
stand-in Transparency Database served over real HTTP on 127.0.0.1, on SQLite and
PostgreSQL: a decision made through the running service reaches the database without any
cron job (and so does the correction of a reopened decision); two serve processes on one
database send each statement exactly once; the thread starts only when the endpoint, a
token and an interval above 0 are all set, and refuses an unsafe token file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from client_scan.report_format import Reason
from report_service.errors import ConfigError
from report_service.escalation.dsa.background import start_dsa_submitter, submitter_configured
from report_service.escalation.dsa.models import StatementRow
from report_service.keys import KeyMaterial
from report_service.server import BackgroundServer
from report_service.settings import Settings
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from tests.report_service.conftest import FakeClock, loopback_client, make_service
from tests.report_service.escalation.dsa_support import add_statements
from tests.report_service.escalation.dsa_test_server import TOKEN, Database


@pytest.fixture
def db() -> Iterator[tuple[Database, str]]:
    database = Database()
    with BackgroundServer(database.app()) as url:
        yield database, url + "/api/v1"


@contextlib.contextmanager
def running_lifespan(app: FastAPI) -> Iterator[None]:
    """The app's lifespan entered on an event loop of its own, left on exit."""
    started, done = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    async def main() -> None:
        try:
            async with app.router.lifespan_context(app):
                started.set()
                await asyncio.to_thread(done.wait)
        except BaseException as exc:  # reported to the test below
            failed.append(exc)
        finally:
            started.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),))
    thread.start()
    started.wait()
    try:
        if failed:
            raise failed[0]
        yield
    finally:
        done.set()
        thread.join()


def _wait(condition: Callable[[], bool], what: str) -> None:
    """Wait for ``condition`` (generously: the machine may be loaded); fail saying what."""
    deadline = time.monotonic() + 120
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _states(sessions: sessionmaker[Session]) -> dict[str, str]:
    with sessions() as session:
        return {r.puid: r.state for r in session.scalars(select(StatementRow))}


def _submitted(sessions: sessionmaker[Session], n: int) -> Callable[[], bool]:
    """Whether exactly ``n`` statements exist, all submitted."""
    return lambda: list(_states(sessions).values()) == ["submitted"] * n


def test_serve_submits_statements_in_the_background(
    database_url: str,
    tmp_path: Path,
    keys: KeyMaterial,
    clock: FakeClock,
    db: tuple[Database, str],
) -> None:
    database, url = db
    for service in make_service(
        database_url,
        tmp_path,
        keys,
        clock,
        dsa_endpoint=url,
        dsa_token=TOKEN,
        dsa_submit_interval_s=0.05,
    ):
        service.add_user("alice")
        service.add_user("bob")
        review = service.app.state.review
        mod = {"Authorization": f"Bearer {review.add_moderator('t', 'mo1', 'moderator').token}"}
        lead = {"Authorization": f"Bearer {review.add_moderator('t', 'lee', 'lead').token}"}
        sessions = service.app.state.session_factory
        # The lifespan starts the thread, as under `frankly serve`; the requests go over
        # a real socket to uvicorn.
        with (
            running_lifespan(service.app),
            BackgroundServer(service.app) as live,
            loopback_client(live) as http,
        ):
            msg = service.frank("alice", "bob", "a very distinctive abusive sentence")
            report = service.report("bob", [msg], reason=Reason.HARASSMENT)
            assert service.submit("bob", report).status_code == 201
            item = http.post("/v1/review/queues/general/claim", headers=mod).json()["item"]["id"]
            decided = http.post(
                f"/v1/review/items/{item}/decision",
                headers=mod,
                json={"decision": "suspend_sender", "policy": "harassment/1.2"},
            )
            assert decided.status_code == 200, decided.text
            [puid] = _states(sessions)
            _wait(_submitted(sessions, 1), "the statement sent")
            assert puid in database.created

            # The reopened decision's correction follows the same way.
            r = http.post(
                f"/v1/review/items/{item}/reopen", headers=lead, json={"reason": "look again"}
            )
            assert r.status_code == 200, r.text
            _wait(_submitted(sessions, 2), "the correction sent")
            [correction] = [p for p in database.created if p != puid]
            assert puid in database.created[correction]["decision_facts"]
        assert sum(database.calls) == 2  # each sent once


def test_two_serve_processes_send_each_statement_once(
    database_url: str, tmp_path: Path, clock: FakeClock, db: tuple[Database, str]
) -> None:
    database, url = db
    upgrade_database(database_url)
    settings = Settings(
        environment="development",
        data_dir=tmp_path,
        database_url=database_url,
        dsa_endpoint=url,
        dsa_token=TOKEN,
        dsa_batch_size=7,
        dsa_submit_interval_s=0.02,
    )
    engines = [make_engine(database_url) for _ in range(2)]  # one per "process"
    try:
        first = make_session_factory(engines[0])
        add_statements(first, 90, now=clock())
        stops = []
        for engine in engines:
            stop = start_dsa_submitter(
                settings,
                make_session_factory(engine),
                clock,
                make_session_factory(engine, read_only=True),
            )
            assert stop is not None
            stops.append(stop)
        try:
            _wait(lambda: set(_states(first).values()) == {"submitted"}, "all 90 submitted")
        finally:
            for stop in stops:
                stop()
        assert len(database.created) == 90
        assert sum(database.calls) == 90  # no statement was ever sent twice
    finally:
        for engine in engines:
            engine.dispose()


def test_the_thread_runs_only_when_configured(tmp_path: Path, clock: FakeClock) -> None:
    base: dict[str, Any] = {"environment": "development", "data_dir": tmp_path}
    never = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}"))
    cases: list[dict[str, Any]] = [
        {},  # nothing set: statements are stored and exportable, never sent
        {"dsa_endpoint": "http://127.0.0.1:9/api/v1"},  # no token
        {"dsa_token": TOKEN},  # no endpoint
        {"dsa_endpoint": "http://x.invalid/v1", "dsa_token": TOKEN, "dsa_submit_interval_s": 0},
    ]
    for extra in cases:
        settings = Settings(**base, **extra)
        assert not submitter_configured(settings)
        assert start_dsa_submitter(settings, never, clock) is None
    on = Settings(**base, dsa_endpoint="http://127.0.0.1:9/api/v1", dsa_token=TOKEN)
    assert submitter_configured(on)
    assert on.dsa_submit_interval_s == 60  # the default: on once configured

    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    os.chmod(token_file, 0o644)
    unsafe = Settings(**base, dsa_endpoint="http://127.0.0.1:9/api/v1", dsa_token_file=token_file)
    with pytest.raises(ConfigError, match="readable by others"):
        start_dsa_submitter(unsafe, never, clock)
    assert TOKEN not in repr(unsafe)
