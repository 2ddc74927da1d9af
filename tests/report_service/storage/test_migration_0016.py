"""Migration ``0016`` (the transparency log's tables) creates exactly the declared tables,
leaves existing rows alone, and can be undone, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text

import report_service.transparency.models  # noqa: F401  (registers the tables)
from report_service.storage.base import Base
from report_service.storage.engine import make_engine
from report_service.storage.migrate import alembic_config, upgrade_database

PREVIOUS = "0010"
TABLES = {"transparency_log", "transparency_leaves", "transparency_tiles"}


def test_upgrade_creates_the_tables_and_downgrade_drops_them(database_url: str) -> None:
    upgrade_database(database_url, PREVIOUS)
    engine = make_engine(database_url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=["users"])
        with engine.begin() as conn:
            conn.execute(
                meta.tables["users"]
                .insert()
                .values(id="bob", token_hash=b"\x07" * 32, created_at=1)
            )
        upgrade_database(database_url, "0016")
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(mc, Base.metadata)
        ours = [d for d in diff if isinstance(d, tuple) and "transparency" in str(d)]
        assert ours == []
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO transparency_log (id, origin, size, checkpoint, updated_at) "
                    "VALUES (1, 'o', 0, 'c', 1)"
                )
            )
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, PREVIOUS)
        assert not TABLES & set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
        upgrade_database(database_url, "0016")
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()
