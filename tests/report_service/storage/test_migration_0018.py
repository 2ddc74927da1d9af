"""Migration ``0018`` (``audit_pending``, deferred audit sequencing) adds the table exactly
as the models declare it and keeps the chain as it was; the downgrade refuses while an
entry still waits for the chain (dropping it would lose an audited action), and drops the
table once they are chained; SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from report_service.review.audit import store as audit_store
from report_service.storage.migrate import upgrade_database
from tests.report_service.storage import migration_support as mig

PREVIOUS = "0017"


def test_the_waiting_table_comes_and_goes_without_losing_an_entry(database_url: str) -> None:
    with mig.engine_at(database_url, PREVIOUS) as engine:
        assert "audit_pending" not in mig.table_names(engine)
        upgrade_database(database_url, "0018")
        assert "audit_pending" in mig.table_names(engine)
        with Session(engine) as s, s.begin():
            audit_store.append_audit(
                s, at_ms=1, actor="cli", action="moderator_add", item_id=None, detail={}
            )
        assert [d for d in mig.schema_differences(engine) if "audit_pending" in repr(d)] == []
        with Session(engine) as s, s.begin():
            audit_store.record_pending(
                s, at_ms=2, actor="mia", action="claim", item_id=7, detail={"queue": "general"}
            )
        with pytest.raises(RuntimeError, match="1 audit entries still wait"):
            mig.downgrade(engine, PREVIOUS)
        assert mig.scalar(engine, "SELECT count(*) FROM audit_pending") == 1
        with Session(engine) as s, s.begin():
            assert audit_store.sequence_pending(s) == 1
        mig.downgrade(engine, PREVIOUS)
        assert "audit_pending" not in mig.table_names(engine)
        assert mig.rows(engine, "SELECT seq, actor, action FROM audit_log ORDER BY seq") == [
            (1, "cli", "moderator_add"),
            (2, "mia", "claim"),
        ]
