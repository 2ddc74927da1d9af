"""Migration ``0013`` (``dsa_statements``, ``appeals``) creates exactly the declared
tables on an existing database and can be undone with SQLite's foreign keys on, keeping
everything else; SQLite and PostgreSQL."""

from __future__ import annotations

from report_service.escalation.dsa.models import StatementRow
from report_service.storage.engine import make_session_factory
from tests.report_service.storage import migration_support as mig

PREVIOUS = "0010"
OURS = {"dsa_statements", "appeals"}


def _from_0017(diff: object) -> bool:
    """Whether an Alembic difference is one that migration 0017 (reporters' complaints)
    makes later: the models are already at the head."""
    text = repr(diff)
    return any(name in text for name in ("report_id", "complaint_key", "'statement_id'"))


def test_statement_tables_come_and_go(database_url: str) -> None:
    with mig.seeded_then_upgraded(database_url, PREVIOUS, "0013", ("users", mig.BOB)) as engine:
        assert mig.table_names(engine) >= OURS
        diff = mig.schema_differences(engine)
        mine = [d for d in diff if any(name in repr(d) for name in OURS)]
        assert [d for d in mine if not _from_0017(d)] == []
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
            statement_id = st.id
        # Reflected, not the model: AppealRow is already at the head (0017).
        appeal = {
            "statement_id": statement_id,
            "decision_id": 1,
            "item_id": 1,
            "appellant": "al",
            "reason": "r",
            "status": "open",
            "open_key": 1,
            "decider": "mo",
            "child_safety": False,
            "created_at": 2,
        }
        mig.insert_rows(engine, ("appeals", appeal))
        mig.downgrade(engine, PREVIOUS)
        assert not OURS & mig.table_names(engine)
        assert mig.rows(engine, "SELECT id FROM users") == [("bob",)]
