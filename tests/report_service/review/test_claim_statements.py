"""Claim-next sends a fixed, small number of statements (issue 11): the probes, the update,
the lease and the chain-head lock in one statement on PostgreSQL, the audit entry with the
new head in a second; on SQLite four after ``BEGIN IMMEDIATE``. Counted with a SQLAlchemy
event listener, so the guard is deterministic (timings are not): the claim before issue 11
sent six statements on PostgreSQL (probes, update, lease insert, head lock, entry, head)
and seven on SQLite, plus an ORM load of the moderator per token check."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, text, update

from report_service.review.audit import store as audit_store
from report_service.review.audit.chain import verify_chain
from report_service.review.core import Actor
from report_service.review.errors import QueueEmpty
from report_service.review.models import LeaseRow
from report_service.review.moderators.roles import Role
from report_service.review.queue.leases import DEFAULT_LEASE_MS
from report_service.storage.models import ReviewItem
from tests.report_service.review.review_support import T0, Env, make_env

MOD = Actor("moderator-1", Role.MODERATOR)
OTHER = Actor("lead-1", Role.LEAD)

#: Statements per claim, ``BEGIN IMMEDIATE`` included on SQLite (PostgreSQL's ``BEGIN`` and
#: every ``COMMIT`` are not cursor statements).
CLAIM_STATEMENTS = {"postgresql": 2, "sqlite": 5}


@contextmanager
def counted(env: Env) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(env.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(env.engine, "before_cursor_execute", listener)


def test_a_claim_sends_at_most_its_statements_and_writes_its_audit_entry(env: Env) -> None:
    first = env.seed(priority=50, created_at=T0 - 10).item_id
    second = env.seed(priority=40, created_at=T0).item_id
    limit = CLAIM_STATEMENTS[env.engine.dialect.name]
    with counted(env) as seen:
        got = env.service.claim(MOD, "general")
    assert got.item.id == first
    assert got.item.status == "claimed"
    assert got.lease.moderator == MOD.name
    assert got.taken_over_from is None
    assert len(seen) <= limit, seen

    # An expired lease taken over: the same statements, the previous holder named.
    env.clock.advance(DEFAULT_LEASE_MS + 1)
    with counted(env) as seen:
        again = env.service.claim(OTHER, "general")
    assert again.item.id == first
    assert again.taken_over_from == MOD.name
    assert again.lease.expires_at == env.clock() + DEFAULT_LEASE_MS
    assert len(seen) <= limit, seen

    with counted(env) as seen:
        third = env.service.claim(MOD, "general")
    assert third.item.id == second
    assert len(seen) <= limit, seen

    with env.sf() as s:
        leases = {r.item_id: r.moderator for r in s.scalars(select(LeaseRow))}
        assert leases == {first: OTHER.name, second: MOD.name}
        statuses = set(s.scalars(select(ReviewItem.status)))
        assert statuses == {"claimed"}
    env.service.sequence_audit()  # on PostgreSQL the claims' entries wait for the sequencer
    with env.sf() as s:
        entries = list(audit_store.iter_audit(s))
        head = audit_store.audit_head(s)
    verify_chain(entries, head)
    claims = [e for e in entries if e.action == "claim"]
    assert [(e.actor, e.item_id, e.detail["taken_over_from"]) for e in claims] == [
        (MOD.name, first, None),
        (OTHER.name, first, MOD.name),
        (MOD.name, second, None),
    ]
    assert claims[1].detail["expires_at"] == again.lease.expires_at


@pytest.mark.parametrize("deferred", [True, False], ids=["deferred", "inline"])
def test_a_deferred_claim_never_touches_the_chain_head(database_url: str, deferred: bool) -> None:
    """Deferred audit sequencing: the claim records its entry in ``audit_pending`` and
    neither reads nor locks ``audit_head`` (so concurrent claims share no lock); the entry
    reaches the chain when it is sequenced. Inline: the head is locked and the entry is in
    the chain at commit."""
    env = make_env(database_url, audit_deferred=deferred)
    try:
        item = env.seed(priority=50).item_id
        with counted(env) as seen:
            env.service.claim(MOD, "general")
        pg = env.engine.dialect.name == "postgresql"
        touches_head = any("audit_head" in sql for sql in seen)
        # SQLite's claim reads the head in its pick-and-mark statement either way (its
        # writers are serialised by BEGIN IMMEDIATE, not by the head row).
        assert touches_head is (not deferred or not pg), seen
        assert any("audit_pending" in sql for sql in seen) is deferred, seen
        with env.sf() as s:
            waiting = audit_store.pending_stats(s)
            chained = [e.action for e in audit_store.iter_audit(s)]
        expected = (1, env.clock()) if deferred else (0, None)
        assert (waiting.count, waiting.oldest_at_ms) == expected
        assert ("claim" in chained) is not deferred
        assert env.service.sequence_audit() == (1 if deferred else 0)
        with env.sf() as s:
            entries = list(audit_store.iter_audit(s))
            verify_chain(entries, audit_store.audit_head(s))
            assert audit_store.pending_stats(s).count == 0
        claims = [(e.actor, e.item_id) for e in entries if e.action == "claim"]
        assert claims == [(MOD.name, item)]
    finally:
        env.engine.dispose()


def test_a_token_check_is_one_statement(env: Env) -> None:
    with counted(env) as seen:
        actor = env.service.authenticate(env.tokens["moderator"])
    assert actor == MOD
    assert len([s for s in seen if not s.startswith("BEGIN")]) == 1, seen


@pytest.mark.postgres
def test_a_lease_renewed_while_being_taken_over_stays_with_its_holder(postgres_url: str) -> None:
    """PostgreSQL: the claim statement picks an item whose lease it sees expired, but
    another process (its clock a little behind) renews that lease before the claim writes
    its own. The claim's lease write re-checks the expiry on the row as committed, finds it
    live, and the whole claim is rolled back and retried: the holder keeps the item, no
    ``claim`` entry is written, and the queue answers empty."""
    env = make_env(postgres_url)
    try:
        item = env.seed(priority=50).item_id
        env.service.claim(MOD, "general")
        env.clock.advance(DEFAULT_LEASE_MS + 1)
        renewed_to = env.clock() + 10 * DEFAULT_LEASE_MS
        outcome: list[object] = []
        with env.engine.connect() as renewer, env.engine.connect() as watcher:
            renewer.execute(
                update(LeaseRow).where(LeaseRow.item_id == item).values(expires_at=renewed_to)
            )  # uncommitted: holds the lease row's lock

            def claim() -> None:
                try:
                    outcome.append(env.service.claim(OTHER, "general"))
                except QueueEmpty as exc:
                    outcome.append(exc)

            thread = threading.Thread(target=claim)
            thread.start()
            waiting = text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            deadline = time.monotonic() + 120
            while watcher.execute(waiting).scalar_one() == 0:
                assert time.monotonic() < deadline, "the claim never waited for the lease row"
                watcher.rollback()
                time.sleep(0.01)
            renewer.commit()
            thread.join(120)
        assert len(outcome) == 1
        assert isinstance(outcome[0], QueueEmpty)
        with env.sf() as s:
            lease = s.get(LeaseRow, item)
            assert lease is not None
            assert (lease.moderator, lease.expires_at) == (MOD.name, renewed_to)
            row = s.get(ReviewItem, item)
            assert row is not None
            assert row.status == "claimed"
        env.service.sequence_audit()
        with env.sf() as s:
            entries = list(audit_store.iter_audit(s))
            verify_chain(entries, audit_store.audit_head(s))
        assert [e.actor for e in entries if e.action == "claim"] == [MOD.name]
    finally:
        env.engine.dispose()
