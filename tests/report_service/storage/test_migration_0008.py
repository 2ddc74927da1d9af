"""Migration ``0008`` (account lifecycle, search indexes) keeps existing users active and
can be undone, on SQLite and PostgreSQL."""

from __future__ import annotations

from report_service.storage.users import user_id_by_token_hash
from tests.report_service.storage import migration_support as mig

INDEXES = {"ix_review_items_sender_id", "ix_review_items_status"}


def test_existing_users_stay_active_and_indexes_appear(database_url: str) -> None:
    with mig.seeded_then_upgraded(database_url, "0003", "0008", ("users", mig.BOB)) as engine:
        with engine.connect() as conn:  # found only while active (not revoked)
            assert user_id_by_token_hash(conn, b"\x07" * 32) is not None
        assert mig.index_names(engine, "review_items") >= INDEXES

        mig.downgrade(engine, "0003", check_sqlite_foreign_keys=False)
        assert "revoked_at" not in mig.column_names(engine, "users")
        assert not INDEXES & mig.index_names(engine, "review_items")
