"""Migration ``0010`` (``bank_matches.variant``) keeps existing bank matches as NULL
("original") and can be undone with SQLite's foreign keys on, on SQLite and PostgreSQL.

Rows are read and written through the reflected table: at ``0010`` the database is behind
the ``BankMatch`` model (``match_percent`` came with ``0015``)."""

from __future__ import annotations

from tests.report_service.storage import migration_support as mig

PREVIOUS = "0008"


def test_existing_matches_stay_null_and_the_column_can_be_dropped(database_url: str) -> None:
    seed = mig.bob_r1_and_match()
    with mig.seeded_then_upgraded(database_url, PREVIOUS, "0010", *seed) as engine:
        assert mig.rows(engine, "SELECT report_id, entry_id, variant FROM bank_matches") == [
            ("r1", "e1", None)
        ]
        mig.insert_rows(
            engine,
            (
                "bank_matches",
                mig.bank_match_r1(sha256="cd" * 32, distance=5, variant="trimmed+flip_minus1"),
            ),
        )

        mig.downgrade(engine, PREVIOUS)
        columns = mig.column_names(engine, "bank_matches")
        assert "variant" not in columns
        assert "entry_id" in columns
        kept = mig.rows(
            engine, "SELECT report_id, sha256, distance FROM bank_matches ORDER BY distance"
        )
        assert kept == [("r1", "ab" * 32, 3), ("r1", "cd" * 32, 5)]
        assert mig.scalar(engine, "SELECT count(*) FROM reports") == 1
