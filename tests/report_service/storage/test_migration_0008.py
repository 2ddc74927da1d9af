"""Migration ``0008`` (account lifecycle, search indexes) keeps existing users active and
can be undone, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import MetaData, inspect

from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import alembic_config, upgrade_database
from report_service.storage.users import user_by_token_hash


def test_existing_users_stay_active_and_indexes_appear(database_url: str) -> None:
    upgrade_database(database_url, "0003")
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
        upgrade_database(database_url, "0008")
        with make_session_factory(engine)() as session:
            user = user_by_token_hash(session, b"\x07" * 32)
            assert user is not None
            assert user.revoked_at is None
        names = {ix["name"] for ix in inspect(engine).get_indexes("review_items")}
        assert {"ix_review_items_sender_id", "ix_review_items_status"} <= names

        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        inspector = inspect(engine)
        assert "revoked_at" not in {c["name"] for c in inspector.get_columns("users")}
        names = {ix["name"] for ix in inspector.get_indexes("review_items")}
        assert not {"ix_review_items_sender_id", "ix_review_items_status"} & names
    finally:
        engine.dispose()
