"""Hypothesis state machine: random claims, heartbeats, releases, decisions, views and
clock moves by several moderators, checked step by step against a plain model of the
queue (order, exclusivity, expiry). SQLite and PostgreSQL (their claim statements
differ); the concurrent paths have their own tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import delete, select, update

from report_service.review.core import Actor
from report_service.review.errors import LeaseLost, LeaseRequired, NotFound, QueueEmpty
from report_service.review.models import AuditHeadRow, AuditRow, DecisionRow, LeaseRow
from report_service.review.moderators.roles import Role
from report_service.review.queue.leases import DEFAULT_LEASE_MS
from report_service.review.queue.priority import order_key
from report_service.storage.models import ReviewItem
from tests.report_service.review.review_support import T0, make_env

MODS = [Actor(f"mod-{i}", Role.MODERATOR) for i in range(3)]
ITEMS = 5


@dataclass
class ModelItem:
    id: int
    priority: int
    created_at: int
    status: str = "open"
    queue: str = "general"
    holder: str | None = None
    expires: int = 0


def test_queue_behaves_like_its_model(database_url: str) -> None:
    env = make_env(database_url)
    for i in range(ITEMS):
        env.seed(priority=[50, 90, 50, 10, 90][i], created_at=T0 - [0, 5, 9_000_000, 7, 1][i])
    with env.sf() as s:
        rows = list(s.execute(select(ReviewItem.id, ReviewItem.priority, ReviewItem.created_at)))
    base = [(r[0], r[1], r[2]) for r in rows]

    class Machine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            env.clock.now = T0
            with env.sf.begin() as s:
                s.execute(delete(LeaseRow))
                s.execute(delete(DecisionRow))
                s.execute(delete(AuditRow))
                s.execute(update(AuditHeadRow).values(seq=0, hash="0" * 64))
                s.execute(
                    update(ReviewItem).values(
                        status="open", outcome=None, queue="general", child_safety=False
                    )
                )
            self.items = {i: ModelItem(i, p, c) for i, p, c in base}

        def live(self, it: ModelItem) -> bool:
            return it.status == "claimed" and env.clock.now < it.expires

        def holds(self, m: Actor, it: ModelItem) -> bool:
            return self.live(it) and it.holder == m.name

        @rule(m=st.sampled_from(MODS))
        def claim(self, m: Actor) -> None:
            waiting = [
                it
                for it in self.items.values()
                if it.queue == "general"
                and (it.status == "open" or (it.status == "claimed" and not self.live(it)))
            ]
            try:
                got = env.service.claim(m, "general")
            except QueueEmpty:
                assert waiting == []
                return
            expected = min(waiting, key=lambda it: order_key(it.priority, it.created_at, it.id))
            assert got.item.id == expected.id
            expected.status, expected.holder = "claimed", m.name
            expected.expires = env.clock.now + DEFAULT_LEASE_MS

        @rule(m=st.sampled_from(MODS), item=st.integers(0, ITEMS - 1))
        def heartbeat(self, m: Actor, item: int) -> None:
            it = list(self.items.values())[item]
            if it.queue != "general":  # escalated: a moderator no longer sees it
                with pytest.raises(NotFound):
                    env.service.heartbeat(m, it.id)
                return
            try:
                lease = env.service.heartbeat(m, it.id)
            except LeaseLost:
                assert not self.holds(m, it)
                return
            assert self.holds(m, it)
            it.expires = env.clock.now + DEFAULT_LEASE_MS
            assert lease.expires_at == it.expires

        @rule(m=st.sampled_from(MODS), item=st.integers(0, ITEMS - 1))
        def release(self, m: Actor, item: int) -> None:
            it = list(self.items.values())[item]
            if it.queue != "general":  # escalated: a moderator no longer sees it
                with pytest.raises(NotFound):
                    env.service.release(m, it.id)
                return
            try:
                env.service.release(m, it.id)
            except LeaseLost:
                assert not self.holds(m, it)
                return
            assert self.holds(m, it)
            it.status, it.holder = "open", None

        @rule(m=st.sampled_from(MODS), item=st.integers(0, ITEMS - 1))
        def view(self, m: Actor, item: int) -> None:
            it = list(self.items.values())[item]
            if it.queue != "general":
                with pytest.raises(NotFound):
                    env.service.item_detail(m, it.id)
                return
            try:
                env.service.item_detail(m, it.id)
            except LeaseRequired:
                assert not self.holds(m, it)
                return
            assert self.holds(m, it)

        @rule(
            m=st.sampled_from(MODS),
            item=st.integers(0, ITEMS - 1),
            decision=st.sampled_from(["no_violation", "warn_sender", "escalate_child_safety"]),
        )
        def decide(self, m: Actor, item: int, decision: str) -> None:
            it = list(self.items.values())[item]
            if it.queue != "general":
                with pytest.raises(NotFound):
                    env.service.decide(m, it.id, decision, "p/1", "")
                return
            try:
                out = env.service.decide(m, it.id, decision, "p/1", "")
            except LeaseRequired:
                assert not self.holds(m, it)
                return
            assert self.holds(m, it)
            it.holder = None
            if decision == "escalate_child_safety":
                it.status, it.queue = "open", "child_safety"
            else:
                it.status = "decided"
            assert out.item.status == it.status

        @rule(ms=st.sampled_from([1, 60_000, DEFAULT_LEASE_MS - 1, DEFAULT_LEASE_MS]))
        def advance(self, ms: int) -> None:
            env.clock.advance(ms)

        @invariant()
        def database_matches_model(self) -> None:
            with env.sf() as s:
                rows = {r.id: r for r in s.scalars(select(ReviewItem))}
                leases = {lr.item_id: lr for lr in s.scalars(select(LeaseRow))}
            for it in self.items.values():
                row = rows[it.id]
                assert (row.status, row.queue) == (it.status, it.queue)
                if it.status == "claimed":
                    lease = leases.get(it.id)
                    if self.live(it):
                        assert lease is not None
                        assert (lease.moderator, lease.expires_at) == (it.holder, it.expires)
                else:
                    assert it.id not in leases

        def teardown(self) -> None:
            assert env.service.audit_verify().ok

    try:
        run_state_machine_as_test(
            Machine, settings=settings(max_examples=30, stateful_step_count=50, deadline=None)
        )
    finally:
        env.engine.dispose()
