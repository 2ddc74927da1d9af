"""Migration ``0017`` (reporters' complaints in ``appeals``) keeps existing appeals,
makes ``statement_id`` nullable and adds ``report_id`` and ``complaint_key`` exactly as the
models declare them; the downgrade drops the complaints and the columns with SQLite's
foreign keys on, keeping everything else; SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.report_service.storage import migration_support as mig

PREVIOUS = "0016"

STATEMENT = {
    "id": 1,
    "puid": "frankly-sor-1",
    "kind": "decision",
    "decision_id": 1,
    "item_id": 1,
    "subject_id": "al",
    "decision": "warn_sender",
    "policy": "p",
    "payload": "{}",
    "state": "pending",
    "attempts": 0,
    "next_attempt_at": 1,
    "created_at": 1,
}
APPEAL = {
    "statement_id": 1,
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


def test_complaint_columns_come_and_go(database_url: str) -> None:
    seeded = (("users", mig.BOB), ("dsa_statements", STATEMENT), ("appeals", APPEAL))
    with mig.seeded_then_upgraded(database_url, PREVIOUS, "0017", *seeded) as engine:
        diff = [d for d in mig.schema_differences(engine) if "appeals" in repr(d)]
        assert diff == []
        assert mig.rows(engine, "SELECT appellant, report_id, complaint_key FROM appeals") == [
            ("al", None, None)
        ]
        complaint = (
            "INSERT INTO appeals (statement_id, report_id, complaint_key, decision_id, item_id, "
            "appellant, reason, status, decider, child_safety, created_at) VALUES (NULL, "
            "'r-1', '1:bob', 1, 1, 'bob', 'r', 'open', 'mo', false, 3)"
        )
        with engine.begin() as conn:
            conn.execute(text(complaint))
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(complaint))  # one open complaint per reporter and decision
        mig.downgrade(engine, PREVIOUS)
        assert mig.rows(engine, "SELECT appellant FROM appeals") == [("al",)]
        assert mig.rows(engine, "SELECT id FROM users") == [("bob",)]
        assert mig.rows(engine, "SELECT puid FROM dsa_statements") == [("frankly-sor-1",)]
