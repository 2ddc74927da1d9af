"""Migration ``0010`` (``bank_matches.variant``) keeps existing bank matches as NULL
("original") and can be undone with SQLite's foreign keys on, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import MetaData, inspect, select, text

from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import alembic_config, upgrade_database
from report_service.storage.models import BankMatch

PREVIOUS = "0008"


def test_existing_matches_stay_null_and_the_column_can_be_dropped(database_url: str) -> None:
    upgrade_database(database_url, PREVIOUS)
    engine = make_engine(database_url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=["users", "reports", "bank_matches"])
        with engine.begin() as conn:
            conn.execute(
                meta.tables["users"]
                .insert()
                .values(id="bob", token_hash=b"\x07" * 32, created_at=1)
            )
            conn.execute(
                meta.tables["reports"]
                .insert()
                .values(
                    report_id="r1",
                    reporter_id="bob",
                    reason="ncii",
                    conversation_id="c",
                    status="received",
                    first_response="{}",
                    message_count=1,
                    attachment_count=1,
                    received_at=1,
                )
            )
            conn.execute(
                meta.tables["bank_matches"]
                .insert()
                .values(
                    report_id="r1",
                    sha256="ab" * 32,
                    list_id="service-bank",
                    list_version=1,
                    algorithm="pdq",
                    category="ncii",
                    severity=80,
                    distance=3,
                    entry_id="e1",
                )
            )
        upgrade_database(database_url, "0010")
        with make_session_factory(engine)() as session:
            [row] = session.scalars(select(BankMatch)).all()
            assert (row.report_id, row.entry_id, row.variant) == ("r1", "e1", None)
            session.add(
                BankMatch(
                    report_id="r1",
                    sha256="cd" * 32,
                    list_id="service-bank",
                    list_version=1,
                    algorithm="pdq",
                    category="ncii",
                    severity=80,
                    distance=5,
                    entry_id="e1",
                    variant="trimmed+flip_minus1",
                )
            )
            session.commit()

        cfg = alembic_config()
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, PREVIOUS)
        columns = {c["name"] for c in inspect(engine).get_columns("bank_matches")}
        assert "variant" not in columns
        assert "entry_id" in columns
        with engine.connect() as conn:
            kept = conn.execute(
                text("SELECT report_id, sha256, distance FROM bank_matches ORDER BY distance")
            ).all()
            assert [tuple(r) for r in kept] == [("r1", "ab" * 32, 3), ("r1", "cd" * 32, 5)]
            assert conn.execute(text("SELECT count(*) FROM reports")).scalar_one() == 1
    finally:
        engine.dispose()
