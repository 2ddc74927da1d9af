"""Migration ``0012`` (``preservation_holds``) upgrades a database holding reports, and
its downgrade drops the table and nothing else, with SQLite's foreign keys on, on SQLite
and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import MetaData, inspect, select, text

from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import alembic_config, upgrade_database
from report_service.storage.models import PreservationHold

PREVIOUS = "0010"


def test_holds_table_comes_and_goes_and_reports_stay(database_url: str) -> None:
    upgrade_database(database_url, PREVIOUS)
    engine = make_engine(database_url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=["users", "reports", "evidence_keys"])
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
                    reason="child_safety",
                    conversation_id="c",
                    status="received",
                    first_response="{}",
                    message_count=1,
                    attachment_count=0,
                    received_at=1,
                )
            )
            conn.execute(
                meta.tables["evidence_keys"]
                .insert()
                .values(report_id="r1", master_key_id="mk", wrapped_key=b"w" * 73)
            )
        assert "preservation_holds" not in inspect(engine).get_table_names()

        upgrade_database(database_url, "0012")
        with make_session_factory(engine)() as session:
            for ref in ("CT-1", None, None):  # NULL references never collide
                session.add(
                    PreservationHold(
                        report_id="r1",
                        source="ncmec",
                        reference=ref,
                        reason="CyberTipline report filed",
                        placed_by="system",
                        placed_at=5,
                        expires_at=5 + 365 * 86_400_000,
                        minimum_until=5 + 365 * 86_400_000,
                    )
                )
            session.commit()
            rows = session.scalars(select(PreservationHold).order_by(PreservationHold.id)).all()
            assert [(r.report_id, r.reference, r.released_at) for r in rows] == [
                ("r1", "CT-1", None),
                ("r1", None, None),
                ("r1", None, None),
            ]
        uniques = inspect(engine).get_unique_constraints("preservation_holds")
        assert [u["column_names"] for u in uniques] == [["report_id", "source", "reference"]]

        cfg = alembic_config()
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, PREVIOUS)
        assert "preservation_holds" not in inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM reports")).scalar_one() == 1
            assert conn.execute(text("SELECT wrapped_key FROM evidence_keys")).scalar_one() == (
                b"w" * 73
            )
        upgrade_database(database_url, "0012")  # and up again
        assert "preservation_holds" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
