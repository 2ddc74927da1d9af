"""Scaffolding shared by the migration tests (``test_migration_00*.py``).

A database upgraded to an earlier revision, rows written into it with the tables as
they are at that revision (reflected, never the current models), a downgrade with
SQLite's foreign keys checked, and the introspection the tests assert on. The
assertions themselves stay in the tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, inspect, text

from report_service.storage.base import Base
from report_service.storage.engine import make_engine
from report_service.storage.migrate import alembic_config, upgrade_database

BOB: Mapping[str, Any] = {"id": "bob", "token_hash": b"\x07" * 32, "created_at": 1}


def report_r1(**values: Any) -> dict[str, Any]:
    """Report ``r1`` by bob (``BOB``), with ``values`` overriding the defaults."""
    row: dict[str, Any] = {
        "report_id": "r1",
        "reporter_id": "bob",
        "reason": "ncii",
        "conversation_id": "c",
        "status": "received",
        "first_response": "{}",
        "message_count": 1,
        "attachment_count": 1,
        "received_at": 1,
    }
    row.update(values)
    return row


def bank_match_r1(**values: Any) -> dict[str, Any]:
    """A service-bank PDQ match on report ``r1``, with ``values`` overriding the defaults."""
    row: dict[str, Any] = {
        "report_id": "r1",
        "sha256": "ab" * 32,
        "list_id": "service-bank",
        "list_version": 1,
        "algorithm": "pdq",
        "category": "ncii",
        "severity": 80,
        "distance": 3,
        "entry_id": "e1",
    }
    row.update(values)
    return row


def bob_r1_and_match(**match_values: Any) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    """Rows for ``insert_rows``: bob, his report ``r1`` and one bank match on it
    (``bank_match_r1(**match_values)``)."""
    return (
        ("users", BOB),
        ("reports", report_r1()),
        ("bank_matches", bank_match_r1(**match_values)),
    )


@contextmanager
def engine_at(database_url: str, revision: str) -> Iterator[Engine]:
    """An engine on ``database_url`` after upgrading it to ``revision``; disposed after."""
    upgrade_database(database_url, revision)
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def seeded_then_upgraded(
    database_url: str, seeded_at: str, upgraded_to: str, *rows: tuple[str, Mapping[str, Any]]
) -> Iterator[Engine]:
    """An engine on ``database_url`` upgraded to ``seeded_at``, given ``rows`` (see
    ``insert_rows``), then upgraded to ``upgraded_to``; disposed after."""
    with engine_at(database_url, seeded_at) as engine:
        insert_rows(engine, *rows)
        upgrade_database(database_url, upgraded_to)
        yield engine


def insert_rows(engine: Engine, *rows: tuple[str, Mapping[str, Any]]) -> None:
    """Insert ``(table, values)`` rows in order, in one transaction, into the tables as
    the database has them now (reflected: the models may already be ahead of it)."""
    meta = MetaData()
    meta.reflect(engine, only=sorted({table for table, _ in rows}))
    with engine.begin() as conn:
        for table, values in rows:
            conn.execute(meta.tables[table].insert().values(**values))


def downgrade(engine: Engine, revision: str, *, check_sqlite_foreign_keys: bool = True) -> None:
    """Downgrade the database behind ``engine`` to ``revision`` in one transaction; on
    SQLite first assert that ``foreign_keys`` is on in it (so a cascade would show)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        if check_sqlite_foreign_keys and engine.dialect.name == "sqlite":
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def column_names(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def index_names(engine: Engine, table: str) -> set[str]:
    return {str(ix["name"]) for ix in inspect(engine).get_indexes(table)}


def schema_differences(engine: Engine) -> list[Any]:
    """Alembic's differences (types compared) between the database and the models."""
    with engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(mc, Base.metadata))


def scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]
