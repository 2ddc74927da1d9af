"""Migration ``0015`` (``media_videos``, ``bank_matches.match_percent``) keeps existing
reports and bank matches (picture matches stay NULL), takes video rows, and can be undone
with SQLite's foreign keys on, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from report_service.storage.engine import make_session_factory
from report_service.storage.migrate import upgrade_database
from report_service.storage.models import BankMatch, MediaVideo
from tests.report_service.storage import migration_support as mig

PREVIOUS = "0010"


def test_upgrade_keeps_matches_takes_videos_and_downgrades(database_url: str) -> None:
    seed = mig.bob_r1_and_match(variant="flipy")
    with mig.seeded_then_upgraded(database_url, PREVIOUS, "0015", *seed) as engine:
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
            video_match = mig.bank_match_r1(
                sha256="cd" * 32,
                list_id="frankly-service-video-bank",
                list_version=2,
                algorithm="vpdq",
                distance=0,
                entry_id="e2",
                match_percent=87.5,
            )
            session.add(BankMatch(**video_match))
            session.commit()
            assert session.scalars(select(BankMatch.match_percent)).all() == [None, 87.5]

        mig.downgrade(engine, PREVIOUS)
        assert "media_videos" not in mig.table_names(engine)
        columns = mig.column_names(engine, "bank_matches")
        assert "match_percent" not in columns
        assert "variant" in columns
        kept = mig.rows(engine, "SELECT sha256, distance FROM bank_matches ORDER BY distance")
        assert kept == [("cd" * 32, 0), ("ab" * 32, 3)]
        assert mig.scalar(engine, "SELECT count(*) FROM reports") == 1
        upgrade_database(database_url)  # and up again
        assert "media_videos" in mig.table_names(engine)
