"""Migration ``0014`` (webhook endpoints and deliveries) creates exactly the declared
tables next to existing data, and downgrades with SQLite's foreign keys on, on SQLite and
PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

import report_service.escalation.webhooks.models
import report_service.storage.models  # noqa: F401
from report_service.storage.migrate import upgrade_database
from tests.report_service.storage import migration_support as mig

PREVIOUS = "0010"
TABLES = {"webhook_endpoints", "webhook_deliveries"}


def test_0014_adds_the_webhook_tables_and_downgrades(database_url: str) -> None:
    with mig.seeded_then_upgraded(database_url, PREVIOUS, "0014", ("users", mig.BOB)) as engine:
        assert mig.table_names(engine) >= TABLES
        diff = [d for d in mig.schema_differences(engine) if any(t in str(d) for t in TABLES)]
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

        mig.downgrade(engine, PREVIOUS)
        assert not TABLES & mig.table_names(engine)
        assert mig.scalar(engine, "SELECT count(*) FROM users") == 1
        upgrade_database(database_url)  # and up again
        assert mig.table_names(engine) >= TABLES
