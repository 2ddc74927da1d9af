"""Migration ``0013`` (``dsa_statements``, ``appeals``) creates exactly the declared
tables on an existing database and can be undone with SQLite's foreign keys on, keeping
everything else; SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text

from report_service.escalation.appeals.models import AppealRow
from report_service.escalation.dsa.models import StatementRow
from report_service.storage.base import Base
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import alembic_config, upgrade_database

PREVIOUS = "0010"
OURS = {"dsa_statements", "appeals"}


def test_statement_tables_come_and_go(database_url: str) -> None:
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
        upgrade_database(database_url, "0013")
        assert set(inspect(engine).get_table_names()) >= OURS
        with engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(mc, Base.metadata)
        mine = [d for d in diff if any(name in repr(d) for name in OURS)]
        assert mine == []
        with make_session_factory(engine).begin() as session:
            st = StatementRow(
                puid="frankly-sor-1",
                kind="decision",
                decision_id=1,
                item_id=1,
                subject_id="al",
                decision="warn_sender",
                policy="p",
                payload="{}",
                state="pending",
                attempts=0,
                next_attempt_at=1,
                created_at=1,
            )
            session.add(st)
            session.flush()
            session.add(
                AppealRow(
                    statement_id=st.id,
                    decision_id=1,
                    item_id=1,
                    appellant="al",
                    reason="r",
                    status="open",
                    open_key=1,
                    decider="mo",
                    child_safety=False,
                    created_at=2,
                )
            )
        cfg = alembic_config()
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, PREVIOUS)
        assert not OURS & set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id FROM users")).scalars().all() == ["bob"]
    finally:
        engine.dispose()
