"""Migration ``0014`` (webhook endpoints and deliveries) creates exactly the declared
tables next to existing data, and downgrades with SQLite's foreign keys on, on SQLite and
PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

import report_service.escalation.webhooks.models
import report_service.storage.models  # noqa: F401
from report_service.storage.migrate import upgrade_database
from tests.report_service.storage.migration_support import (
    BOB,
    downgrade,
    engine_at,
    insert_rows,
    scalar,
    schema_differences,
    table_names,
)

PREVIOUS = "0010"
TABLES = {"webhook_endpoints", "webhook_deliveries"}


def test_0014_adds_the_webhook_tables_and_downgrades(database_url: str) -> None:
    with engine_at(database_url, PREVIOUS) as engine:
        insert_rows(engine, ("users", BOB))
        upgrade_database(database_url, "0014")
        assert table_names(engine) >= TABLES
        diff = [d for d in schema_differences(engine) if any(t in str(d) for t in TABLES)]
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

        downgrade(engine, PREVIOUS)
        assert not TABLES & table_names(engine)
        assert scalar(engine, "SELECT count(*) FROM users") == 1
        upgrade_database(database_url)  # and up again
        assert table_names(engine) >= TABLES
