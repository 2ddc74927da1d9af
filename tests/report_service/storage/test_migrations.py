"""The Alembic migrations create exactly the declared tables, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text

import report_service.storage.models  # noqa: F401  (registers the tables)
from report_service.storage.base import Base
from report_service.storage.engine import make_engine
from report_service.storage.migrate import current_revisions, head_revisions, upgrade_database


def test_upgrade_creates_the_declared_schema(database_url: str) -> None:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        assert current_revisions(engine) == head_revisions()
        with engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(mc, Base.metadata)
        # Tables created by other packages' migrations whose models are not imported here
        # show up as removals; they are not this migration's business.
        ours = [d for d in diff if not (isinstance(d, tuple) and d[0].startswith("remove_"))]
        assert ours == []
        names = set(inspect(engine).get_table_names())
        assert {
            "users",
            "reports",
            "review_items",
            "report_items",
            "evidence_keys",
            "media_messages",
        } <= names
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(database_url: str) -> None:
    upgrade_database(database_url)
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        engine.dispose()


def test_0003_links_existing_media_only_where_the_report_had_one_reported_message(
    database_url: str,
) -> None:
    """The backfill of ``media_messages``: a report with one reported message gets its
    media linked to it; the media of a report about two messages stay unlinked (shown on
    neither item), since a migration cannot read which payload committed which digest."""
    upgrade_database(database_url, "0002")
    engine = make_engine(database_url)
    meta = MetaData()
    meta.reflect(engine, only=["users", "reports", "report_messages", "media"])
    users, reports, messages, media = (
        meta.tables[n] for n in ("users", "reports", "report_messages", "media")
    )

    def report(rid: str, reported: list[str], context: list[str], shas: list[str]) -> None:
        conn.execute(
            reports.insert().values(
                report_id=rid,
                reporter_id="bob",
                reason="harassment",
                conversation_id="c",
                status="received",
                first_response="{}",
                message_count=len(reported) + len(context),
                attachment_count=len(shas),
                received_at=1,
            )
        )
        for pos, (commitment, is_reported) in enumerate(
            [(c, True) for c in reported] + [(c, False) for c in context]
        ):
            conn.execute(
                messages.insert().values(
                    report_id=rid,
                    position=pos,
                    sender_id="alice",
                    recipient_id="bob",
                    conversation_id="c",
                    timestamp_ms=pos,
                    commitment=commitment,
                    key_id="k",
                    payload_id=f"{rid}-{pos}",
                    reported=is_reported,
                )
            )
        for sha in shas:
            conn.execute(media.insert().values(report_id=rid, sha256=sha, size=1, mime="image/png"))

    try:
        with engine.begin() as conn:
            conn.execute(users.insert().values(id="bob", token_hash=b"\x01" * 32, created_at=1))
            report("one", ["c1"], ["c0"], ["a" * 64, "b" * 64])
            report("two", ["c2", "c3"], [], ["d" * 64])
            report("none", ["c4"], [], [])
        upgrade_database(database_url)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT m.report_id, m.sha256, l.commitment FROM media_messages l "
                    "JOIN media m ON m.id = l.media_id ORDER BY m.sha256"
                )
            ).all()
        assert [tuple(r) for r in rows] == [("one", "a" * 64, "c1"), ("one", "b" * 64, "c1")]
        assert current_revisions(engine) == head_revisions()
    finally:
        engine.dispose()


def test_0005_keeps_queued_messages_and_backfills_their_size(database_url: str) -> None:
    """Messages queued before the acknowledged inbox stay queued, with their size."""
    upgrade_database(database_url, "0003")
    engine = make_engine(database_url)
    try:
        meta = MetaData()
        meta.reflect(engine, only=["relay_queue"])
        queue = meta.tables["relay_queue"]
        with engine.begin() as conn:
            for i, n in enumerate((0, 7, 300)):
                conn.execute(
                    queue.insert().values(
                        message_id=f"m{i}",
                        recipient_id="bob",
                        sender_id="alice",
                        conversation_id="c",
                        ciphertext=b"x" * n,
                        commitment=bytes(32),
                        stamp=bytes(32),
                        key_id="k",
                        timestamp_ms=i,
                        expires_at=10**13,
                    )
                )
        upgrade_database(database_url, "0005")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT message_id, size FROM relay_queue ORDER BY 1")).all()
            assert [tuple(r) for r in rows] == [("m0", 0), ("m1", 7), ("m2", 300)]
            assert conn.execute(text("SELECT count(*) FROM relay_sends")).scalar_one() == 0
    finally:
        engine.dispose()


def test_sqlite_commits_with_full_sync_unless_told_otherwise(sqlite_url: str) -> None:
    """An answered request must survive a power failure: ``synchronous=FULL`` (2)."""
    for kwargs, expected in (({}, 2), ({"sqlite_synchronous": "NORMAL"}, 1)):
        engine = make_engine(sqlite_url, **kwargs)  # type: ignore[arg-type]
        try:
            with engine.connect() as conn:
                assert conn.execute(text("PRAGMA synchronous")).scalar_one() == expected
        finally:
            engine.dispose()
