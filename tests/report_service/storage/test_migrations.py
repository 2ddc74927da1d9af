"""The Alembic migrations create exactly the declared tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import report_service.storage.models  # noqa: F401  (registers the tables)
from report_service.storage.base import Base
from report_service.storage.engine import make_engine
from report_service.storage.migrate import current_revisions, head_revisions, upgrade_database


def test_upgrade_creates_the_declared_schema(database_url: str) -> None:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        assert current_revisions(engine) == head_revisions()
        with engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(mc, Base.metadata)
        # Tables created by other packages' migrations whose models are not imported here
        # show up as removals; they are not this migration's business.
        ours = [d for d in diff if not (isinstance(d, tuple) and d[0].startswith("remove_"))]
        assert ours == []
        names = set(inspect(engine).get_table_names())
        assert {"users", "reports", "review_items", "report_items", "evidence_keys"} <= names
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(database_url: str) -> None:
    upgrade_database(database_url)
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        engine.dispose()
