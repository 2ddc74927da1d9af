"""Fixtures for the webhooks tests: a receiver on 127.0.0.1 and a migrated database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from tests.report_service.escalation.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a freshly migrated SQLite or PostgreSQL database."""
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()
