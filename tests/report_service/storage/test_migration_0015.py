"""Migration ``0015`` (``media_videos``, ``bank_matches.match_percent``) keeps existing
reports and bank matches (picture matches stay NULL), takes video rows, and can be undone
with SQLite's foreign keys on, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import MetaData, inspect, select, text

from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import alembic_config, upgrade_database
from report_service.storage.models import BankMatch, MediaVideo

PREVIOUS = "0010"


def test_upgrade_keeps_matches_takes_videos_and_downgrades(database_url: str) -> None:
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
                    variant="flipy",
                )
            )
        upgrade_database(database_url, "0015")
        with make_session_factory(engine)() as session:
            [row] = session.scalars(select(BankMatch)).all()
            assert (row.variant, row.match_percent) == ("flipy", None)
            session.add(
                MediaVideo(
                    report_id="r1",
                    sha256="cd" * 32,
                    hash_json='{"vpdq": ""}',
                    duration_s=6.0,
                    keyframe_count=4,
                )
            )
            session.add(
                BankMatch(
                    report_id="r1",
                    sha256="cd" * 32,
                    list_id="frankly-service-video-bank",
                    list_version=2,
                    algorithm="vpdq",
                    category="ncii",
                    severity=80,
                    distance=0,
                    entry_id="e2",
                    match_percent=87.5,
                )
            )
            session.commit()
            assert session.scalars(select(BankMatch.match_percent)).all() == [None, 87.5]

        cfg = alembic_config()
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, PREVIOUS)
        assert "media_videos" not in inspect(engine).get_table_names()
        columns = {c["name"] for c in inspect(engine).get_columns("bank_matches")}
        assert "match_percent" not in columns
        assert "variant" in columns
        with engine.connect() as conn:
            kept = conn.execute(
                text("SELECT sha256, distance FROM bank_matches ORDER BY distance")
            ).all()
            assert [tuple(r) for r in kept] == [("cd" * 32, 0), ("ab" * 32, 3)]
            assert conn.execute(text("SELECT count(*) FROM reports")).scalar_one() == 1
        upgrade_database(database_url)  # and up again
        assert "media_videos" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
