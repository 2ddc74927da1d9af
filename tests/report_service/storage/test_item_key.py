"""The review item key, as a property over any sequence of stored reports, on SQLite and
PostgreSQL: one item per stamped message ``(commitment, sender, conversation)``, never
one per commitment (docs/protocol.md, "What makes a review item")."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from report_service.review.decisions.requeue import ReviewRequeue
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from report_service.storage.models import Report, ReportItem, ReviewItem
from report_service.storage.reports import ItemFacts, ReportRecord, store_report
from report_service.storage.users import add_user

NOW = 1_767_225_660_000
PEOPLE = ("alice", "bob", "carol", "mallory")
# (commitment index, stamped sender, conversation, reporter)
Citation = tuple[int, str, str, str]


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with factory() as s:
        for name in PEOPLE:
            add_user(s, name, name.encode().ljust(32, b"\0"), NOW)
    yield factory
    engine.dispose()


def _record(run: str, citations: list[Citation], reporter: str) -> ReportRecord:
    """A stored-report record citing ``citations`` (only the facts the merge uses)."""
    rid = str(uuid.uuid4())
    conversation = citations[0][2]
    return ReportRecord(
        report={
            "report_id": rid,
            "reporter_id": reporter,
            "reason": "harassment",
            "conversation_id": conversation,
            "status": "received",
            "first_response": "{}",
            "message_count": len(citations),
            "attachment_count": 0,
            "received_at": NOW,
        },
        evidence_key={"report_id": rid, "master_key_id": "m", "wrapped_key": b"x"},
        blobs=(),
        messages=tuple(
            {
                "report_id": rid,
                "position": i,
                "sender_id": sender,
                "recipient_id": reporter,
                "conversation_id": conv,
                "timestamp_ms": NOW - 1,
                "commitment": f"{run}{c:02d}",
                "key_id": "k",
                "payload_id": f"p{i}",
                "reported": True,
            }
            for i, (c, sender, conv, _) in enumerate(citations)
        ),
        media=(),
        media_messages=(),
        matches=(),
        items=tuple(
            ItemFacts(
                commitment=f"{run}{c:02d}",
                conversation_id=conv,
                sender_id=sender,
                max_bank_severity=0,
                bank_categories=frozenset(),
                child_safety_set=frozenset(),
            )
            for c, sender, conv, _ in citations
        ),
    )


citation = st.tuples(
    st.integers(0, 2),
    st.sampled_from(PEOPLE),
    st.sampled_from(("g1", "g2")),
    st.sampled_from(PEOPLE),
)


@settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(reports=st.lists(st.lists(citation, min_size=1, max_size=3), min_size=1, max_size=8))
def test_one_item_per_stamped_message(
    sessions: sessionmaker[Session], reports: list[list[Citation]]
) -> None:
    run = uuid.uuid4().hex[:62]  # a fresh commitment space per example, same database
    expected: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for cites in reports:
        # one report: one conversation and one reporter, as verification demands
        reporter = cites[0][3]
        cites = [(c, s, cites[0][2], reporter) for c, s, _, _ in cites]
        with sessions() as s:
            store_report(s, _record(run, cites, reporter), NOW, ReviewRequeue())
        for c, sender, conv, _ in cites:
            expected[(f"{run}{c:02d}", sender, conv)].add(reporter)

    with sessions() as s:
        items = list(s.scalars(select(ReviewItem).where(ReviewItem.commitment.startswith(run))))
        got = {(i.commitment, i.sender_id, i.conversation_id): i for i in items}
        assert len(got) == len(items)  # never two items for one stamped message
        assert set(got) == set(expected)  # and one for each
        for key, item in got.items():
            assert item.reporter_count == len(expected[key])
            reporters = s.scalars(
                select(Report.reporter_id)
                .join(ReportItem, ReportItem.report_id == Report.report_id)
                .where(ReportItem.item_id == item.id)
            )
            assert set(reporters) == expected[key]  # only reports citing this key
