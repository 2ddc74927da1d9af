"""Deferred audit sequencing (issue 11): entries recorded in ``audit_pending`` in their
action's transaction, chained later by the sequencer, on SQLite and PostgreSQL.

What must hold whatever the interleaving: every committed entry reaches the chain exactly
once, waiting entries keep their recorded order, an inline append comes after every entry
that was waiting when it ran, the chain verifies against its head, and an entry whose
transaction rolled back never appears."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from hashes.values import HashValue
from hashes.video import VideoHash
from report_service.errors import BankError
from report_service.review.audit import store as audit_store
from report_service.review.audit.chain import GENESIS, AuditEntry, verify_chain
from report_service.review.audit.schemas import AuditVerifyOut
from report_service.review.audit.sequencer import sequence_once, start_audit_sequencer
from report_service.review.core import Actor
from report_service.review.errors import InvalidInput, LeaseRequired, QueueEmpty
from report_service.review.media.evidence_access import MasterKeyEvidence
from report_service.review.models import AuditHeadRow, AuditPendingRow, AuditRow, LeaseRow
from report_service.review.moderators.roles import Role
from report_service.review.queue.gauges import ReviewGauges
from report_service.review.service import ReviewService
from report_service.settings import Settings
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from tests.report_service.review.review_support import (
    MASTER_KEY,
    T0,
    Attachment,
    make_env,
    png_bytes,
)


def _record(session: Session, n: int, action: str = "claim") -> None:
    audit_store.record_pending(
        session, at_ms=T0 + n, actor=f"mod-{n}", action=action, item_id=n, detail={"n": n}
    )


def _chain(sf: sessionmaker[Session]) -> list[AuditEntry]:
    with sf() as s:
        audit_store.read_one_snapshot(s)  # a sequencer may be committing meanwhile
        entries = list(audit_store.iter_audit(s))
        verify_chain(entries, audit_store.audit_head(s))
        return entries


def test_waiting_entries_are_chained_in_order_by_the_sequencer(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        for n in range(3):
            _record(s, n)
    assert _chain(sessions) == []
    with sessions() as s:
        assert audit_store.pending_stats(s) == audit_store.PendingStats(3, T0)
    with sessions.begin() as s:
        assert audit_store.sequence_pending(s, limit=2) == 2
    with sessions.begin() as s:
        assert audit_store.sequence_pending(s) == 1
        assert audit_store.sequence_pending(s) == 0
    entries = _chain(sessions)
    assert [(e.seq, e.actor, e.detail) for e in entries] == [
        (n + 1, f"mod-{n}", {"n": n}) for n in range(3)
    ]
    with sessions() as s:
        assert audit_store.pending_stats(s) == audit_store.PendingStats(0, None)


def test_an_inline_append_chains_the_waiting_entries_first(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        _record(s, 1)
    with sessions.begin() as s:
        entry = audit_store.append_audit(
            s, at_ms=T0 + 2, actor="lead-1", action="decide", item_id=1, detail={}
        )
    assert entry.seq == 2
    assert [e.action for e in _chain(sessions)] == ["claim", "decide"]


def test_an_entry_rolled_back_with_its_action_never_reaches_the_chain(
    sessions: sessionmaker[Session],
) -> None:
    def failing_action() -> None:
        with sessions.begin() as s:
            _record(s, 1)
            raise RuntimeError("the action failed after recording its entry")

    with pytest.raises(RuntimeError):
        failing_action()
    with sessions.begin() as s:
        assert audit_store.sequence_pending(s) == 0
    assert _chain(sessions) == []


@pytest.mark.parametrize(
    ("actor", "detail"),
    [("mod-1", {"ratio": 0.5}), ("", {}), ("mod-1", {"nested": [1, {"x": 1.5}]})],
    ids=["float", "no-actor", "nested-float"],
)
def test_an_entry_that_could_not_chain_is_refused_when_recorded(
    sessions: sessionmaker[Session], actor: str, detail: dict[str, object]
) -> None:
    with pytest.raises(InvalidInput), sessions.begin() as s:
        audit_store.record_pending(
            s, at_ms=T0, actor=actor, action="claim", item_id=None, detail=detail
        )
    with sessions() as s:
        assert audit_store.pending_stats(s).count == 0


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.integers(1, 4)),
        st.tuples(st.just("append"), st.just(1)),
        st.tuples(st.just("sequence"), st.integers(1, 5)),
        st.tuples(st.just("rollback"), st.integers(1, 3)),
    ),
    max_size=14,
)


def test_any_interleaving_chains_every_committed_entry_once_in_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite'}"
    upgrade_database(url)
    engine = make_engine(url)
    sf = make_session_factory(engine)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(OPS)
    def run(ops: list[tuple[str, int]]) -> None:
        with sf.begin() as s:
            s.execute(delete(AuditRow))
            s.execute(delete(AuditPendingRow))
            s.execute(update(AuditHeadRow).values(seq=0, hash=GENESIS))
        committed: list[str] = []  # every entry's tag, in the order it was committed
        waiting: list[str] = []
        chained_before: dict[str, set[str]] = {}  # an append: the tags waiting when it ran
        counter = 0
        for op, n in ops:
            if op == "record":
                with sf.begin() as s:
                    for _ in range(n):
                        counter += 1
                        tag = f"p{counter}"
                        audit_store.record_pending(
                            s,
                            at_ms=T0,
                            actor="m",
                            action="claim",
                            item_id=None,
                            detail={"tag": tag},
                        )
                        committed.append(tag)
                        waiting.append(tag)
            elif op == "rollback":
                try:
                    with sf.begin() as s:
                        for _ in range(n):
                            audit_store.record_pending(
                                s,
                                at_ms=T0,
                                actor="m",
                                action="claim",
                                item_id=None,
                                detail={"tag": "never"},
                            )
                        raise LookupError
                except LookupError:
                    pass
            elif op == "append":
                counter += 1
                tag = f"a{counter}"
                with sf.begin() as s:
                    audit_store.append_audit(
                        s,
                        at_ms=T0,
                        actor="m",
                        action="decide",
                        item_id=None,
                        detail={"tag": tag},
                    )
                committed.append(tag)
                chained_before[tag] = set(waiting)
                waiting.clear()
            else:
                with sf.begin() as s:
                    done = audit_store.sequence_pending(s, limit=n)
                assert done == min(n, len(waiting))
                del waiting[:done]
        with sf.begin() as s:
            assert audit_store.sequence_pending(s) == len(waiting)
        tags = [str(e.detail["tag"]) for e in _chain(sf)]
        assert sorted(tags) == sorted(committed)  # each committed entry once, nothing else
        recorded = [t for t in committed if t.startswith("p")]
        assert [t for t in tags if t.startswith("p")] == recorded  # waiting ones keep order
        for tag, before in chained_before.items():
            assert before <= set(tags[: tags.index(tag)])

    try:
        run()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_sequencer_that_cannot_have_the_head_gives_up_at_once(postgres_url: str) -> None:
    """PostgreSQL: while another transaction holds the chain head (an inline append, or
    another process's sequencer), a background pass returns 0 instead of queueing."""
    upgrade_database(postgres_url)
    engine = make_engine(postgres_url)
    sf = make_session_factory(engine)
    try:
        with sf.begin() as s:
            _record(s, 1)
        with engine.connect() as holder:
            holder.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
            started = time.monotonic()
            assert sequence_once(sf) == 0
            assert time.monotonic() - started < 30  # it did not wait for the lock
            holder.rollback()
        assert sequence_once(sf) == 1
        assert [e.actor for e in _chain(sf)] == ["mod-1"]
    finally:
        engine.dispose()


def test_the_background_sequencer_chains_within_its_interval_and_at_shutdown(
    sessions: sessionmaker[Session],
) -> None:
    halt = start_audit_sequencer(sessions, 0.02)
    try:
        with sessions.begin() as s:
            _record(s, 1)
        deadline = time.monotonic() + 60
        while not _chain(sessions):
            assert time.monotonic() < deadline, "the sequencer never chained the entry"
            time.sleep(0.01)
    finally:
        halt()
    slow = start_audit_sequencer(sessions, 3600)  # its first pass would come in an hour
    with sessions.begin() as s:
        _record(s, 2)
    slow()  # stopping it chains what is left
    assert [e.actor for e in _chain(sessions)] == ["mod-1", "mod-2"]


MODS = [Actor(f"claimer-{n}", Role.MODERATOR) for n in range(8)]


def test_concurrent_deferred_claims_with_a_running_sequencer_leave_one_clean_chain(
    database_url: str,
) -> None:
    """Eight moderators claim and release at once while the sequencer runs: every claim
    and release is chained exactly once, no item is held by two, and the chain verifies."""
    env = make_env(database_url, audit_deferred=True)
    for mod in MODS:
        env.service.add_moderator("cli", mod.name, "moderator")
    for n in range(24):
        env.seed(priority=50, created_at=T0 - n)
    halt = start_audit_sequencer(env.sf, 0.01)
    claims: dict[str, list[int]] = {m.name: [] for m in MODS}
    errors: list[BaseException] = []

    def work(mod: Actor) -> None:
        try:
            for _ in range(6):
                try:
                    got = env.service.claim(mod, "general")
                except QueueEmpty:
                    return
                claims[mod.name].append(got.item.id)
                env.service.release(mod, got.item.id)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(m,)) for m in MODS]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
    finally:
        halt()
        entries = _chain(env.sf)
        with env.sf() as s:
            left = s.scalar(select(func.count()).select_from(AuditPendingRow))
            leases = s.scalar(select(func.count()).select_from(LeaseRow))
        env.engine.dispose()
    assert errors == []
    assert left == 0
    assert leases == 0
    made = sorted((m, i) for m, items in claims.items() for i in items)
    assert sorted((e.actor, e.item_id) for e in entries if e.action == "claim") == made
    assert sorted((e.actor, e.item_id) for e in entries if e.action == "release") == made
    holder: dict[int | None, str] = {}
    for e in entries:  # in chain order, a claim is always followed by its own release
        if e.action == "claim":
            assert e.item_id not in holder
            holder[e.item_id] = e.actor
        elif e.action == "release":
            assert holder.pop(e.item_id) == e.actor


@pytest.mark.parametrize(
    ("mode", "dialect", "deferred"),
    [
        ("auto", "postgresql", True),
        ("auto", "sqlite", False),
        ("inline", "postgresql", False),
        ("deferred", "sqlite", True),
    ],
)
def test_the_setting_chooses_where_entries_are_deferred(
    mode: str, dialect: str, deferred: bool
) -> None:
    assert Settings(audit_sequencing=mode).audit_deferred(dialect) is deferred


def test_the_gauges_show_how_many_entries_wait_and_for_how_long(
    sessions: sessionmaker[Session],
) -> None:
    def scrape() -> dict[str, float]:
        gauges = ReviewGauges(sessions, lambda: T0 + 4_500)
        return {
            m.name: m.samples[0].value
            for m in gauges.collect()
            if m.name.startswith("frankly_audit")
        }

    assert scrape() == {"frankly_audit_pending": 0, "frankly_audit_pending_oldest_seconds": 0}
    with sessions.begin() as s:
        _record(s, 0)
        _record(s, 2)
    assert scrape() == {"frankly_audit_pending": 2, "frankly_audit_pending_oldest_seconds": 4.5}


def test_verifying_while_entries_are_appended_never_sees_a_broken_chain(
    database_url: str,
) -> None:
    """``audit_verify`` reads the head, the count and every entry in one snapshot: under
    PostgreSQL's READ COMMITTED an append committed between its reads would otherwise look
    like entries beyond (or missing before) the recorded head."""
    env = make_env(database_url)
    stop = threading.Event()
    appended = [0]

    def append() -> None:
        while not stop.is_set():
            with env.sf.begin() as s:
                audit_store.append_audit(
                    s, at_ms=T0, actor="cli", action="append", item_id=None, detail={}
                )
            appended[0] += 1

    writer = threading.Thread(target=append)
    writer.start()
    try:
        results: list[AuditVerifyOut] = []
        deadline = time.monotonic() + 120
        while len(results) < 40 or appended[0] < 40:
            assert time.monotonic() < deadline, "the writer or the verifier starved"
            results.append(env.service.audit_verify())
    finally:
        stop.set()
        writer.join(120)
        env.engine.dispose()
    assert [r.problem for r in results if not r.ok] == []
    assert all(r.entries == r.head_seq for r in results)


def test_a_read_of_the_log_takes_no_write_lock_when_nothing_waits(database_url: str) -> None:
    """``sequence_audit`` (run before every read of the log) looks read-only first: with
    nothing waiting it neither locks the chain head nor, on SQLite, begins a write."""
    env = make_env(database_url, audit_deferred=True)
    service = ReviewService(  # as create_app builds it: with read-only sessions
        env.sf,
        env.clock,
        MasterKeyEvidence(lambda kid: MASTER_KEY),
        read_session_factory=make_session_factory(env.engine, read_only=True),
        audit_deferred=True,
    )
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    try:
        env.seed(priority=50)
        service.claim(Actor("moderator-1", Role.MODERATOR), "general")
        event.listen(env.engine, "before_cursor_execute", listener)
        assert service.sequence_audit() == 1  # the claim's entry
        assert any("audit_head" in sql for sql in seen)
        seen.clear()
        assert service.sequence_audit() == 0
        assert not any("audit_head" in sql or sql == "BEGIN IMMEDIATE" for sql in seen), seen
    finally:
        event.remove(env.engine, "before_cursor_execute", listener)
        env.engine.dispose()


@pytest.mark.parametrize("deferred", [True, False], ids=["deferred", "inline"])
def test_a_deferred_decision_never_touches_the_chain_head(
    database_url: str, deferred: bool
) -> None:
    """A decision follows its claim: deferred, it records its entry in ``audit_pending``
    and neither reads nor locks ``audit_head`` (so concurrent decisions share no lock
    through their commits), and the entry reaches the chain, after its claim's, when it is
    sequenced; inline, the entry is in the chain at commit."""
    env = make_env(database_url, audit_deferred=deferred)
    moderator = Actor("decider", Role.MODERATOR)
    seen: list[str] = []

    def listener(*args: object) -> None:
        seen.append(str(args[2]))

    try:
        item = env.seed(priority=50).item_id
        env.service.claim(moderator, "general")
        env.service.sequence_audit()
        event.listen(env.engine, "before_cursor_execute", listener)
        try:
            env.service.decide(moderator, item, "warn_sender", "harassment/1.2", "noted")
        finally:
            event.remove(env.engine, "before_cursor_execute", listener)
        assert any("audit_head" in sql for sql in seen) is not deferred, seen
        # (an inline append reads audit_pending too: it chains what waits first)
        assert any("INSERT INTO audit_pending" in sql for sql in seen) is deferred, seen
        with env.sf() as s:
            waiting = audit_store.pending_stats(s).count
            chained = [e.action for e in audit_store.iter_audit(s)]
        assert waiting == (1 if deferred else 0)
        assert ("decide" in chained) is not deferred
        assert env.service.sequence_audit() == (1 if deferred else 0)
        entries = [e for e in _chain(env.sf) if e.item_id == item]
        assert [(e.action, e.actor) for e in entries] == [
            ("claim", "decider"),
            ("decide", "decider"),
        ]
        assert entries[1].detail["decision"] == "warn_sender"
    finally:
        env.engine.dispose()


def test_a_deferred_decision_does_not_wait_for_a_held_chain_head(postgres_url: str) -> None:
    """PostgreSQL: while another transaction holds the chain head (an inline append, or a
    sequencer through its commit), a deferred decision still commits at once; the held
    head is what every inline decision used to queue on."""
    env = make_env(postgres_url, audit_deferred=True)
    moderator = Actor("decider", Role.MODERATOR)
    try:
        item = env.seed(priority=50).item_id
        env.service.claim(moderator, "general")
        with env.engine.connect() as holder:
            holder.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
            done = threading.Event()
            failures: list[BaseException] = []

            def decide() -> None:
                try:
                    env.service.decide(moderator, item, "no_violation", "harassment/1.2", "")
                    done.set()
                except BaseException as exc:  # reported by the main thread
                    failures.append(exc)

            worker = threading.Thread(target=decide)
            worker.start()
            worker.join(30)
            decided_while_held = done.is_set()
            holder.rollback()
            worker.join(60)
        assert failures == []
        assert decided_while_held
        assert env.service.sequence_audit() == 2  # the claim's entry and the decision's
        assert [e.action for e in _chain(env.sf) if e.item_id == item] == ["claim", "decide"]
    finally:
        env.engine.dispose()


@dataclass(frozen=True)
class _Header:
    list_id: str
    version: int


class _BankDownOnce:
    """A hash bank whose first write fails (the decision stands, banking is retried)."""

    def __init__(self) -> None:
        self.writes = 0
        self.held: set[tuple[str, str]] = set()

    def add_entry(
        self, value: HashValue, category: str, entry_id: str | None, now_ms: int
    ) -> _Header:
        self.writes += 1
        if self.writes == 1:
            raise BankError("the bank is down")
        self.held.add((value.hex, category))
        return _Header("review-bank", len(self.held))

    def holds(self, value: HashValue, category: str) -> bool:
        return (value.hex, category) in self.held

    def add_video(
        self, video: VideoHash, category: str, entry_id: str | None, now_ms: int
    ) -> _Header:
        raise AssertionError("no video here")

    def holds_video(self, video: VideoHash, category: str) -> bool:
        raise AssertionError("no video here")


@pytest.mark.parametrize("deferred", [True, False], ids=["deferred", "inline"])
def test_banking_is_retried_at_once_after_a_decision_whose_entry_still_waits(
    database_url: str, deferred: bool
) -> None:
    """A decision that asked for banking, whose banking failed, may be retried by its
    moderator without a lease: the permission is read from the decision's audit entry,
    which must count while it still waits for the sequencer (deferred), not only once it
    is chained."""
    bank = _BankDownOnce()
    env = make_env(database_url, bank, audit_deferred=deferred)
    moderator = Actor("decider", Role.MODERATOR)
    try:
        picture = Attachment(png_bytes(3), pdq="c" * 64)
        item = env.seed(attachments=[picture]).item_id
        env.service.claim(moderator, "general")
        with pytest.raises(BankError):
            env.service.decide(
                moderator, item, "suspend_sender", "harassment/1.2", "", bank_media=True
            )
        with env.sf() as s:
            assert audit_store.pending_stats(s).count == (2 if deferred else 0)
        banked = env.service.bank(moderator, item)  # no lease: the decider's retry
        assert banked.hashes == ["c" * 64]
        assert bank.held == {("c" * 64, "harassment")}
        with pytest.raises(LeaseRequired):  # anyone else still needs the lease
            env.service.bank(Actor("someone-else", Role.MODERATOR), item)
    finally:
        env.engine.dispose()
