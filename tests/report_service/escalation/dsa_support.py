"""Pending statements of reasons written straight into the database, for the DSA
submitter's tests (one pass, and the background thread of ``frankly serve``)."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session, sessionmaker

from report_service.escalation.dsa.builder import StatementFacts, build_statement
from report_service.escalation.dsa.config import STATEMENT_DECISIONS
from report_service.escalation.dsa.mapping import load_mapping
from report_service.escalation.dsa.models import StatementRow

T0 = 1_767_225_600_000
MAPPING = load_mapping(None, STATEMENT_DECISIONS)


def add_statements(
    sessions: sessionmaker[Session], n: int, start: int = 0, now: int = T0
) -> list[str]:
    """Add ``n`` valid pending statements due at ``now`` (decisions varied); their PUIDs."""
    puids = []
    with sessions.begin() as session:
        for i in range(start, start + n):
            facts = StatementFacts(
                decision=("warn_sender", "restrict_sender", "suspend_sender", "escalate_legal")[
                    i % 4
                ],
                policy="harassment/1.2",
                reason=("harassment", "child_safety", "scam", "ncii")[i % 4],
                child_safety=i % 7 == 0,
                content_at_ms=now - 10_000,
                decided_at_ms=now,
                media_types=("image/png",) if i % 2 else (),
            )
            puid = f"frankly-sor-test{i:05d}"
            session.add(
                StatementRow(
                    puid=puid,
                    kind="decision",
                    decision_id=i + 1,
                    item_id=i + 1,
                    subject_id=f"user{i}",
                    decision=facts.decision,
                    policy=facts.policy,
                    payload=json.dumps(build_statement(facts, MAPPING, puid)),
                    state="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            puids.append(puid)
    return puids
