"""Migration ``0012`` (``preservation_holds``) upgrades a database holding reports, and
its downgrade drops the table and nothing else, with SQLite's foreign keys on, on SQLite
and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, select

from report_service.storage.engine import make_session_factory
from report_service.storage.migrate import upgrade_database
from report_service.storage.models import PreservationHold
from tests.report_service.storage import migration_support as mig

PREVIOUS = "0010"


def test_holds_table_comes_and_goes_and_reports_stay(database_url: str) -> None:
    with mig.engine_at(database_url, PREVIOUS) as engine:
        mig.insert_rows(
            engine,
            ("users", mig.BOB),
            ("reports", mig.report_r1(reason="child_safety", attachment_count=0)),
            ("evidence_keys", {"report_id": "r1", "master_key_id": "mk", "wrapped_key": b"w" * 73}),
        )
        assert "preservation_holds" not in mig.table_names(engine)

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
            held = session.scalars(select(PreservationHold).order_by(PreservationHold.id)).all()
            assert [(r.report_id, r.reference, r.released_at) for r in held] == [
                ("r1", "CT-1", None),
                ("r1", None, None),
                ("r1", None, None),
            ]
        uniques = inspect(engine).get_unique_constraints("preservation_holds")
        assert [u["column_names"] for u in uniques] == [["report_id", "source", "reference"]]

        mig.downgrade(engine, PREVIOUS)
        assert "preservation_holds" not in mig.table_names(engine)
        assert mig.scalar(engine, "SELECT count(*) FROM reports") == 1
        assert mig.scalar(engine, "SELECT wrapped_key FROM evidence_keys") == b"w" * 73
        upgrade_database(database_url, "0012")  # and up again
        assert "preservation_holds" in mig.table_names(engine)
