"""Fixtures of the review tests: a migrated database (SQLite and PostgreSQL) with one
moderator per role, the review service, and the app behind a real HTTP client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.report_service.review.review_support import Env, SyncClient, make_app, make_env


@pytest.fixture
def env(database_url: str) -> Iterator[Env]:
    e = make_env(database_url)
    try:
        yield e
    finally:
        e.engine.dispose()


@pytest.fixture
def client(env: Env) -> SyncClient:
    return SyncClient(make_app(env.service))
