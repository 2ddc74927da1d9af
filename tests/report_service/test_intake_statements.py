"""Storing a report sends few statements (issue 11). Counted with a SQLAlchemy event
listener over the whole ``POST /v1/reports`` (token check, rate limit, repeat check, the
banks' generation check, the store transaction), so the guard is deterministic where
timings are not. On PostgreSQL every row but the review items goes in ONE statement (the
report insert with the other tables' inserts as data-modifying CTEs); a new review item is
one ``INSERT .. ON CONFLICT DO NOTHING RETURNING`` (no lookup first). On SQLite, where a
statement costs no round trip, one Core ``INSERT`` per table. Before issue 11 the same
request sent 24 statements on SQLite and 14 on PostgreSQL; before the single-statement
insert, 19 and 14 (with the webhook outbox's endpoint lookup); before the rate limiter
counted inside the report's transaction (its state read with the token), 18 and 8 in two
write transactions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from report_service.storage import reports
from report_service.storage.models import BankMatch, Media, MediaMessage, Report, ReportItem
from tests.report_service.review.review_support import png_bytes

from .conftest import Service

#: Statements of one POST /v1/reports with two messages and one image (SQLite counts its
#: ``BEGIN`` statements; PostgreSQL's ``BEGIN`` and every ``COMMIT`` are not cursor
#: statements).
REPORT_STATEMENTS = {"postgresql": 8, "sqlite": 17}


@contextmanager
def write_transactions(service: Service) -> Iterator[list[list[str]]]:
    """The statements of every transaction that wrote (INSERT, UPDATE or DELETE), one list
    per transaction, whatever the connection or session that ran it."""
    transactions: list[list[str]] = []

    def begin(conn: Any) -> None:
        transactions.append([])
        conn.info["frankly_test_txn"] = transactions[-1]

    def listener(conn: Any, *args: Any) -> None:
        current = conn.info.get("frankly_test_txn")
        if any(current is t for t in transactions):  # not one left from an earlier test
            current.append(str(args[1]).strip().split("\n")[0][:80])

    engine = service.app.state.engine
    event.listen(engine, "begin", begin)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield transactions
    finally:
        event.remove(engine, "begin", begin)
        event.remove(engine, "before_cursor_execute", listener)


def writing(transactions: list[list[str]]) -> list[list[str]]:
    """The transactions among ``transactions`` that wrote something."""
    verbs = {"INSERT", "UPDATE", "DELETE", "WITH"}  # WITH: PostgreSQL's data-modifying CTEs
    return [t for t in transactions if any(s.split()[0].upper() in verbs for s in t if s)]


@contextmanager
def counted(service: Service) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(*args: Any) -> None:
        seen.append(str(args[2]).split("\n")[0][:80])

    engine = service.app.state.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_an_image_report_is_stored_in_few_statements(service: Service) -> None:
    picture = png_bytes(3)
    context = service.frank("bob", "alice", "hi alice")
    abusive = service.frank("alice", "bob", "look", attachments=[(picture, "image/png")])
    digest = hashlib.sha256(picture).hexdigest()
    report = service.report("bob", [context, abusive], attachments={digest: picture})
    with counted(service) as seen:
        answer = service.submit("bob", report)
    assert answer.status_code == 201, answer.text
    dialect = service.app.state.engine.dialect.name
    assert len(seen) <= REPORT_STATEMENTS[dialect], "\n".join(seen)
    with service.app.state.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 1
        media = session.scalars(select(Media)).one()
        assert media.sha256 == digest
        link = session.scalars(select(MediaMessage)).one()
        assert (link.media_id, link.commitment) == (media.id, abusive.commitment.hex())
        assert session.scalar(select(func.count()).select_from(ReportItem)) == 1
        assert session.scalar(select(func.count()).select_from(BankMatch)) == 0
    with counted(service) as seen:
        again = service.submit("bob", report)
    assert again.status_code == 200
    assert again.json() == answer.json()


def test_an_accepted_report_is_one_write_transaction(service: Service) -> None:
    """The shared rate limiter counts an accepted report inside the report's own
    transaction (before issue 11's intake work, a transaction of its own: two fsync'd
    commits per report on SQLite); its token lookup reads the limiter's state."""
    picture = png_bytes(5)
    abusive = service.frank("alice", "bob", "look", attachments=[(picture, "image/png")])
    digest = hashlib.sha256(picture).hexdigest()
    report = service.report("bob", [abusive], attachments={digest: picture})
    with write_transactions(service) as transactions:
        answer = service.submit("bob", report)
    assert answer.status_code == 201, answer.text
    wrote = writing(transactions)
    assert len(wrote) == 1, wrote
    assert any("rate_limits" in s for s in wrote[0]), wrote[0]
    assert any(s.startswith(("INSERT INTO reports", "WITH")) for s in wrote[0]), wrote[0]
    # A repeat stores nothing, and is counted in a short transaction of its own.
    with write_transactions(service) as transactions:
        again = service.submit("bob", report)
    assert again.status_code == 200
    wrote = writing(transactions)
    assert len(wrote) == 1, wrote
    assert all("reports " not in s for s in wrote[0]), wrote


def test_a_report_too_large_for_one_statement_is_stored_table_by_table(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the bind-parameter cap PostgreSQL takes the per-table path (SQLite always
    does): the same rows, the media link to the right commitment."""
    monkeypatch.setattr(reports, "_MAX_PARAMETERS", 0)
    picture = png_bytes(4)
    abusive = service.frank("alice", "bob", "look", attachments=[(picture, "image/png")])
    digest = hashlib.sha256(picture).hexdigest()
    report = service.report("bob", [abusive], attachments={digest: picture})
    with counted(service) as seen:
        answer = service.submit("bob", report)
    assert answer.status_code == 201, answer.text
    assert any(s.startswith("INSERT INTO media_messages") for s in seen), seen
    with service.app.state.session_factory() as session:
        media = session.scalars(select(Media)).one()
        link = session.scalars(select(MediaMessage)).one()
        assert (media.sha256, link.media_id) == (digest, media.id)
        assert link.commitment == abusive.commitment.hex()
        assert session.scalar(select(func.count()).select_from(ReportItem)) == 1
