"""Console sessions and preferences in the database (SQLite and PostgreSQL): what one
process opens, another resumes; idle and absolute timeouts; revocation; CSRF; and the
migration creates exactly the declared tables."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import given
from hypothesis import strategies as st

from report_service.console.models import ConsolePreferences, ConsoleSession, ConsoleSigninLink
from report_service.console.sessions import (
    DEFAULT_IDLE_MS,
    ConsoleSessions,
    CsrfRejected,
    Preferences,
    SessionExpired,
)
from report_service.errors import RequestRejected
from report_service.review.core import Actor
from report_service.review.models import Moderator
from report_service.review.moderators import store as moderator_store
from report_service.review.moderators.roles import Role
from report_service.storage.base import Base
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_engine
from report_service.tokens import hash_token

T0 = 1_767_225_600_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def parts(database_url: str) -> Iterator[tuple[ConsoleSessions, ConsoleSessions, Clock]]:
    """Two session stores on two engines (two processes) sharing one database."""
    engines = [make_engine(database_url), make_engine(database_url)]
    upgrade_engine(engines[0])
    clock = Clock()
    one, two = (ConsoleSessions(make_session_factory(e), clock, os.urandom) for e in engines)
    with make_session_factory(engines[0]).begin() as session:
        moderator_store.add_moderator(session, "mia", "moderator", hash_token("t-mia"), T0)
    try:
        yield one, two, clock
    finally:
        for e in engines:
            e.dispose()


MIA = Actor("mia", Role.MODERATOR)


def test_a_session_opened_by_one_process_is_resumed_by_another(
    parts: tuple[ConsoleSessions, ConsoleSessions, Clock],
) -> None:
    one, two, clock = parts
    cookie, csrf = one.open(MIA)
    assert len(cookie) == 64
    assert cookie != csrf
    clock.now += 60_000
    who = two.resume(cookie)
    assert who.actor == MIA
    assert who.csrf == csrf
    two.check_csrf(who, csrf)
    for bad in (None, "", "0" * 64, csrf[:-1]):
        with pytest.raises(CsrfRejected):
            two.check_csrf(who, bad)
    one.close(cookie)
    with pytest.raises(SessionExpired):
        two.resume(cookie)


def test_idle_and_absolute_timeouts_and_revocation_end_sessions(
    parts: tuple[ConsoleSessions, ConsoleSessions, Clock], database_url: str
) -> None:
    one, two, clock = parts
    cookie, _ = one.open(MIA)
    # activity keeps it alive past the idle timeout...
    for _ in range(3):
        clock.now += DEFAULT_IDLE_MS - 1000
        two.resume(cookie)
    # ...but not past the idle timeout without activity
    clock.now += DEFAULT_IDLE_MS + 1
    with pytest.raises(SessionExpired):
        one.resume(cookie)
    # nor past the absolute age
    cookie, _ = one.open(MIA)
    for _ in range(30):
        clock.now += DEFAULT_IDLE_MS - 1000
        try:
            one.resume(cookie)
        except SessionExpired:
            break
    assert clock.now - T0 > one.max_age_ms
    # revocation: the next request is signed out
    cookie, _ = one.open(MIA)
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            moderator_store.revoke_moderator(session, "mia", clock.now)
    finally:
        engine.dispose()
    with pytest.raises(SessionExpired):
        two.resume(cookie)


@given(st.text(max_size=80))
def test_unknown_cookies_never_resume(cookie: str) -> None:
    class Never:
        def __call__(self) -> object:
            raise AssertionError("no database call for a malformed cookie")

    sessions = ConsoleSessions(Never(), lambda: T0, os.urandom)  # type: ignore[arg-type]
    if cookie and len(cookie) <= 64:
        return  # well-formed lengths are looked up (covered above)
    with pytest.raises(SessionExpired):
        sessions.resume(cookie)


def test_preferences_round_trip_and_are_validated(
    parts: tuple[ConsoleSessions, ConsoleSessions, Clock],
) -> None:
    one, two, _ = parts
    assert one.preferences("mia") == Preferences()
    two.save_preferences("mia", Preferences.checked(4, False, 45))
    assert one.preferences("mia") == Preferences(4, False, 45)
    for blur, minutes in ((5, 20), (-1, 20), (2, 4), (2, 241)):
        with pytest.raises(RequestRejected):
            Preferences.checked(blur, True, minutes)


def test_the_migration_creates_exactly_the_console_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade_engine(engine)
        with engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(mc, Base.metadata)
        ours = {
            ConsoleSession.__tablename__,
            ConsolePreferences.__tablename__,
            ConsoleSigninLink.__tablename__,
        }
        assert [d for d in diff if any(t in repr(d) for t in ours)] == []
    finally:
        engine.dispose()


def test_concurrent_requests_on_an_ended_session_all_sign_out_cleanly(
    parts: tuple[ConsoleSessions, ConsoleSessions, Clock],
) -> None:
    one, two, clock = parts
    cookie, _ = one.open(MIA)
    clock.now += DEFAULT_IDLE_MS + 1
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def request(store: ConsoleSessions) -> None:
        barrier.wait()
        try:
            store.resume(cookie)
            outcomes.append("resumed")
        except SessionExpired:
            outcomes.append("expired")
        except Exception as exc:  # anything else is the bug this test looks for
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=request, args=(s,)) for s in (one, two) * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["expired"] * 6


def test_rotating_the_token_ends_the_sessions_it_opened(
    parts: tuple[ConsoleSessions, ConsoleSessions, Clock], database_url: str
) -> None:
    one, two, _ = parts
    cookie, _ = one.open(MIA)
    two.resume(cookie)
    engine = make_engine(database_url)
    try:  # what `frankly moderators rotate` does to the account row
        with make_session_factory(engine).begin() as session:
            mod = session.get(Moderator, "mia")
            assert mod is not None
            mod.token_hash = hash_token("t-mia-rotated")
    finally:
        engine.dispose()
    with pytest.raises(SessionExpired):
        two.resume(cookie)
    # a session opened after the rotation works
    fresh, _ = one.open(MIA)
    assert two.resume(fresh).actor == MIA
