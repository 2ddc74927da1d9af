"""Migration ``0016`` (the transparency log's tables) creates exactly the declared tables,
leaves existing rows alone, and can be undone, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

import report_service.transparency.models  # noqa: F401  (registers the tables)
from report_service.storage.migrate import upgrade_database
from tests.report_service.storage import migration_support as mig

PREVIOUS = "0010"
TABLES = {"transparency_log", "transparency_leaves", "transparency_tiles"}


def test_upgrade_creates_the_tables_and_downgrade_drops_them(database_url: str) -> None:
    with mig.seeded_then_upgraded(database_url, PREVIOUS, "0016", ("users", mig.BOB)) as engine:
        assert mig.table_names(engine) >= TABLES
        diff = mig.schema_differences(engine)
        ours = [d for d in diff if isinstance(d, tuple) and "transparency" in str(d)]
        assert ours == []
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO transparency_log (id, origin, size, checkpoint, updated_at) "
                    "VALUES (1, 'o', 0, 'c', 1)"
                )
            )
        mig.downgrade(engine, PREVIOUS, check_sqlite_foreign_keys=False)
        assert not TABLES & mig.table_names(engine)
        assert mig.scalar(engine, "SELECT count(*) FROM users") == 1
        upgrade_database(database_url, "0016")
        assert mig.table_names(engine) >= TABLES
