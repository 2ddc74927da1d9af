"""Shared fixtures: Hypothesis profiles and the two databases every storage test runs on."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

POSTGRES_URL_ENV = "FRANKLY_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "FRANKLY_REQUIRE_POSTGRES"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

DATA_DIR = Path(__file__).parent / "data"


def _postgres_admin_dsn() -> str:
    url = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _postgres_or_skip() -> str:
    """Return the admin DSN, or skip (fail when CI requires PostgreSQL) if unreachable."""
    import psycopg

    dsn = _postgres_admin_dsn()
    try:
        with psycopg.connect(dsn, connect_timeout=3):
            pass
    except psycopg.OperationalError as exc:
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail(f"PostgreSQL is required here but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable ({exc}); set {POSTGRES_URL_ENV}")
    return dsn


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it (skips, or fails when
    CI requires PostgreSQL, if the server is unreachable)."""
    import psycopg

    admin_dsn = _postgres_or_skip()
    name = f"frankly_t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL)
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'frankly.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs twice: on SQLite and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'frankly.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
