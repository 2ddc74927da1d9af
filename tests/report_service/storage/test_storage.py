"""Storage on SQLite and PostgreSQL: users, relay queue, reports, evidence, idempotency."""

from __future__ import annotations

import json
import os
import threading
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from client_scan.franking.verify_report import verify_report
from report_service.errors import Conflict, DuplicateReport, EvidenceDestroyed, NotFound
from report_service.intake import build_record
from report_service.keys import KeyMaterial
from report_service.ratelimit import SharedRateLimiter
from report_service.review.decisions.requeue import ReviewRequeue
from report_service.storage.engine import read_engine
from report_service.storage.evidence import destroy_evidence, list_evidence, read_evidence
from report_service.storage.models import (
    EvidenceBlob,
    RelayMessage,
    Report,
    ReviewItem,
)
from report_service.storage.relay import acknowledge, enqueue, inbox_page, purge_expired
from report_service.storage.reports import (
    ReportRecord,
    report_status,
    store_report,
)
from report_service.storage.users import (
    add_user,
    list_users,
    revoke,
    user_id_by_token_hash,
    user_id_by_token_hash_with,
)

NOW = 1_767_225_660_000  # the conftest clock's start
REQUEUE = ReviewRequeue()


def record_for(
    franker: Any, reporter: str = "bob", text: str = "hello"
) -> tuple[Any, ReportRecord]:
    """A verified report from ``reporter`` (``franker`` is the conftest fixture)."""
    assert franker.clock() == NOW
    material: KeyMaterial = franker.keys
    report = franker.report(reporter, [franker.frank("alice", reporter, text)], comment="my words")
    verified = verify_report(report, reporter, material.franking, NOW)
    master = material.active_master
    return report, build_record(
        verified,
        {},
        now_ms=NOW,
        master_kid=master.kid,
        master_key=master.key,
        random=os.urandom,
        child_safety_categories=frozenset(),
    )


def add_users(sessions: sessionmaker[Session], *names: str) -> None:
    for i, name in enumerate(names):
        with sessions() as s:
            add_user(s, name, bytes([i]) * 32, NOW)


def test_users(sessions: sessionmaker[Session]) -> None:
    add_users(sessions, "bob", "alice")
    with sessions() as s:
        assert [u.id for u in list_users(s)] == ["alice", "bob"]
        assert user_id_by_token_hash(s.connection(), bytes([1]) * 32) == "alice"
        assert user_id_by_token_hash(s.connection(), b"\xff" * 32) is None
        with pytest.raises(Conflict):
            add_user(s, "bob", b"\xee" * 32, NOW)


def test_token_lookups_on_the_read_engine_refuse_revoked_users(
    sessions: sessionmaker[Session],
) -> None:
    """The per-request lookups (Core connections of the read engine, statements built
    once) answer an active user's id, with the limiter's state in the same statement, and
    nothing for an unknown or revoked token."""
    add_users(sessions, "bob", "alice")  # token hashes 00.., 01..
    bind = sessions.kw["bind"]
    limiter = SharedRateLimiter(sessions, per_minute=60, burst=1)
    limiter.check("alice", NOW)
    reads = read_engine(bind)
    for _ in range(2):  # the second time from the built statements
        with reads.connect() as conn:
            assert user_id_by_token_hash(conn, bytes([1]) * 32) == "alice"
            assert user_id_by_token_hash_with(conn, bytes([0]) * 32, limiter.stored_tat) == (
                "bob",
                None,
            )
            found = user_id_by_token_hash_with(conn, bytes([1]) * 32, limiter.stored_tat)
            assert found == ("alice", (NOW + 1000) * 1000)
            assert user_id_by_token_hash(conn, b"\xff" * 32) is None
    with sessions() as s:
        revoke(s, "alice", NOW)
        s.commit()
    with reads.connect() as conn:
        assert user_id_by_token_hash(conn, bytes([1]) * 32) is None
        assert user_id_by_token_hash_with(conn, bytes([1]) * 32, limiter.stored_tat) is None
        assert user_id_by_token_hash(conn, bytes([0]) * 32) == "bob"


def test_relay_queue(sessions: sessionmaker[Session]) -> None:
    def msg(i: int, recipient: str, expires: int) -> RelayMessage:
        return RelayMessage(
            message_id=str(uuid.uuid4()),
            recipient_id=recipient,
            sender_id="alice",
            conversation_id="c",
            ciphertext=b"x" * i,
            commitment=bytes(32),
            stamp=bytes(32),
            key_id="k",
            timestamp_ms=NOW + i,
            expires_at=expires,
        )

    with sessions() as s:
        for i in range(3):
            enqueue(s, msg(i, "bob", NOW + 1000))
        enqueue(s, msg(9, "carol", NOW + 10))
    with sessions() as s:
        page = inbox_page(s, "bob", NOW, after=None, max_count=2, max_bytes=100)
        assert [len(m.ciphertext) for m in page.messages] == [0, 1]
        assert page.more
        last = page.messages[-1]
        rest = inbox_page(
            s, "bob", NOW, after=(last.timestamp_ms, last.message_id), max_count=5, max_bytes=100
        )
        assert [len(m.ciphertext) for m in rest.messages] == [2]
        assert not rest.more
        # reading removed nothing; only the recipient's own acknowledgement does
        again = inbox_page(s, "bob", NOW, after=None, max_count=5, max_bytes=100)
        assert len(again.messages) == 3
        ids = [m.message_id for m in again.messages]
        assert acknowledge(s, "carol", ids) == 0
        assert acknowledge(s, "bob", ids) == 3
        assert acknowledge(s, "bob", ids) == 0
        assert inbox_page(s, "bob", NOW, after=None, max_count=5, max_bytes=100).messages == []
        assert purge_expired(s, NOW + 10) == 1
        assert s.scalar(select(func.count()).select_from(RelayMessage)) == 0


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    sizes=st.lists(st.integers(0, 300), max_size=12),
    times=st.lists(st.integers(0, 3), min_size=12, max_size=12),
    acked=st.sets(st.integers(0, 11)),
    page=st.tuples(st.integers(1, 5), st.integers(1, 400)),
)
def test_paging_reads_exactly_the_unacknowledged_queue_in_order(
    sessions: sessionmaker[Session],
    sizes: list[int],
    times: list[int],
    acked: set[int],
    page: tuple[int, int],
) -> None:
    """Following ``next`` from the start reads every unacknowledged, unexpired delivery of
    the recipient once, in (time, id) order, whatever the page bounds; pages respect them."""
    max_count, max_bytes = page
    with sessions() as s:
        s.execute(delete(RelayMessage))
        s.commit()
        ids = []
        for i, size in enumerate(sizes):
            m = RelayMessage(
                message_id=str(uuid.uuid4()),
                recipient_id="bob" if i % 4 else "carol",
                sender_id="alice",
                conversation_id="c",
                ciphertext=b"x" * size,
                commitment=bytes(32),
                stamp=bytes(32),
                key_id="k",
                timestamp_ms=NOW + times[i],
                expires_at=NOW + 1000,
                size=size,
            )
            enqueue(s, m)
            ids.append((m.recipient_id, m.timestamp_ms, m.message_id))
        acknowledge(s, "bob", [ids[i][2] for i in acked if i < len(ids)])
        expected = sorted(
            (t, mid) for i, (r, t, mid) in enumerate(ids) if r == "bob" and i not in acked
        )
        seen: list[tuple[int, str]] = []
        after: tuple[int, str] | None = None
        while True:
            got = inbox_page(s, "bob", NOW, after=after, max_count=max_count, max_bytes=max_bytes)
            assert len(got.messages) <= max_count
            if len(got.messages) > 1:
                assert sum(m.size for m in got.messages) <= max_bytes
            seen += [(m.timestamp_ms, m.message_id) for m in got.messages]
            if not got.more:
                break
            assert got.messages
            after = seen[-1]
        assert seen == expected


def test_report_is_stored_once_and_evidence_is_encrypted(
    sessions: sessionmaker[Session], franker: Any
) -> None:
    add_users(sessions, "alice", "bob")
    report, record = record_for(franker, text="the secret words")
    with sessions() as s:
        store_report(s, record, NOW, REQUEUE)
    with sessions() as s, pytest.raises(DuplicateReport):
        store_report(s, record, NOW, REQUEUE)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 1
        assert s.scalar(select(func.count()).select_from(ReviewItem)) == 1
        for blob in s.scalars(select(EvidenceBlob)):
            assert b"the secret words" not in blob.ciphertext
            assert b"my words" not in blob.ciphertext
        kinds = list_evidence(s, report.report_id)
        assert ("comment", "") in kinds
        assert read_evidence(s, franker.keys, report.report_id, "comment") == b"my words"
        message = json.loads(read_evidence(s, franker.keys, report.report_id, "message", "0"))
        assert message["sender_id"] == "alice"
        assert report_status(s, report.report_id, "bob")["status"] == "received"
        with pytest.raises(NotFound):
            report_status(s, report.report_id, "alice")


def test_destroying_the_wrapped_key_makes_evidence_unrecoverable(
    sessions: sessionmaker[Session], franker: Any
) -> None:
    add_users(sessions, "alice", "bob")
    report, record = record_for(franker)
    with sessions() as s:
        store_report(s, record, NOW, REQUEUE)
        destroy_evidence(s, report.report_id, NOW + 1)
    with sessions() as s:
        with pytest.raises(EvidenceDestroyed):
            read_evidence(s, franker.keys, report.report_id, "comment")
        # Even someone holding every blob and the master key cannot open them: the data
        # key existed only wrapped, and the wrapped copy is gone.
        from report_service.evidence import open_blob

        blob = s.scalars(select(EvidenceBlob).where(EvidenceBlob.kind == "comment")).one()
        for guess in (franker.keys.active_master.key, bytes(32)):
            with pytest.raises(EvidenceDestroyed):
                open_blob(guess, report.report_id, "comment", "", blob.ciphertext)


def test_concurrent_duplicates_store_one_report(
    sessions: sessionmaker[Session], franker: Any
) -> None:
    add_users(sessions, "alice", "bob")
    _, record = record_for(franker)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        with sessions() as s:
            try:
                store_report(s, record, NOW, REQUEUE)
                outcomes.append("stored")
            except DuplicateReport:
                outcomes.append("duplicate")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["duplicate"] * 3 + ["stored"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Report)) == 1


def test_concurrent_reports_about_one_message_merge(
    sessions: sessionmaker[Session], franker: Any
) -> None:
    from dataclasses import replace

    from client_scan.franking.stamp import stamp

    reporters = ["r0", "r1", "r2", "r3"]
    add_users(sessions, "alice", *reporters)
    h = franker
    material: KeyMaterial = franker.keys
    original = h.frank("alice", "r0", "group message", conversation="group")
    records = []
    for r in reporters:
        copy = replace(
            original,
            recipient_id=r,
            stamp=stamp(
                material.franking, original.commitment, "alice", r, "group", original.timestamp_ms
            ).tag,
        )
        report = h.report(r, [copy])
        verified = verify_report(report, r, material.franking, NOW)
        master = material.active_master
        records.append(
            build_record(
                verified,
                {},
                now_ms=NOW,
                master_kid=master.kid,
                master_key=master.key,
                random=os.urandom,
                child_safety_categories=frozenset(),
            )
        )
    barrier = threading.Barrier(len(records))
    errors: list[BaseException] = []

    def worker(rec: object) -> None:
        barrier.wait()
        try:
            with sessions() as s:
                store_report(s, rec, NOW, REQUEUE)  # type: ignore[arg-type]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(r,)) for r in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sessions() as s:
        item = s.scalars(select(ReviewItem)).one()
        assert item.reporter_count == len(reporters)
