"""Migration ``0014`` (webhook endpoints and deliveries) creates exactly the declared
tables next to existing data, and downgrades with SQLite's foreign keys on, on SQLite and
PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import report_service.escalation.webhooks.models
import report_service.storage.models  # noqa: F401
from report_service.storage.base import Base
from report_service.storage.engine import make_engine
from report_service.storage.migrate import alembic_config, upgrade_database

PREVIOUS = "0010"
TABLES = {"webhook_endpoints", "webhook_deliveries"}


def test_0014_adds_the_webhook_tables_and_downgrades(database_url: str) -> None:
    upgrade_database(database_url, PREVIOUS)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO users (id, token_hash, created_at) VALUES ('bob', :h, 1)"),
                {"h": b"\x07" * 32},
            )
        upgrade_database(database_url, "0014")
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = [
                d
                for d in compare_metadata(mc, Base.metadata)
                if any(t in str(d) for t in TABLES)
            ]
        assert diff == []
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO webhook_endpoints (url, event_types, secret_ciphertext, "
                    "secret_key_id, enabled, description, created_at) VALUES "
                    "('https://example.org/h', '*', :c, 'm1', true, '', 1)"
                ),
                {"c": b"\x01" * 41},
            )
            conn.execute(
                text(
                    "INSERT INTO webhook_deliveries (endpoint_id, message_id, event_type, body, "
                    "status, attempts, next_attempt_at, created_at) SELECT id, 'msg_1', "
                    "'item.decided', '{}', 'pending', 0, 1, 1 FROM webhook_endpoints"
                )
            )

        cfg = alembic_config()
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, PREVIOUS)
        assert not TABLES & set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
        upgrade_database(database_url)  # and up again
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()
