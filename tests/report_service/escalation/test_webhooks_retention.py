"""Retention of the webhook delivery list, on SQLite and PostgreSQL: the deliverer's pass
(and ``frankly webhooks prune``) deletes delivered rows older than
``webhook_retention_days``, keeps younger ones, and never deletes a pending row or a
dead letter, however old; 0 keeps everything."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from frankly.cli import main
from report_service.escalation.webhooks import emit_event, retention
from report_service.escalation.webhooks.deliverer import Deliverer
from report_service.escalation.webhooks.models import (
    DEAD,
    DELIVERED,
    PENDING,
    WebhookDelivery,
    WebhookEndpoint,
)
from report_service.escalation.webhooks.store import add_endpoint, parse_events
from report_service.keys import KeyMaterial
from tests.report_service.conftest import FakeClock
from tests.report_service.escalation.webhook_receiver import Receiver

DAY = retention.DAY_MS


def _seed(
    sessions: sessionmaker[Session],
    keys: KeyMaterial,
    receiver: Receiver,
    finished: Sequence[tuple[str, int | None]],
    now: int,
) -> dict[int, str]:
    """One delivery per ``(status, age in days or None)`` (finished that long before
    ``now``); returns id -> status."""
    with sessions() as session:
        new = add_endpoint(
            session, keys, receiver.url, parse_events("*"), now_ms=now, random=os.urandom
        )
    with sessions.begin() as session:
        for i, _ in enumerate(finished):
            emit_event(session, "item.decided", {"item_id": i}, now_ms=now - 400 * DAY)
    with sessions.begin() as session:
        rows = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        assert len(rows) == len(finished)
        for row, (status, age) in zip(rows, finished, strict=True):
            row.endpoint_id = new.id
            row.status = status
            row.finished_at = None if age is None else now - age * DAY
            row.next_attempt_at = now + 365 * DAY  # a pending one is not due in this test
        return {r.id: r.status for r in rows}


def _left(sessions: sessionmaker[Session]) -> dict[int, str]:
    with sessions() as session:
        return {r.id: r.status for r in session.scalars(select(WebhookDelivery))}


def _deliverer(
    sessions: sessionmaker[Session], keys: KeyMaterial, clock: FakeClock, days: int
) -> Deliverer:
    return Deliverer(sessions, lambda: keys, clock=clock, retention_days=days)


def test_the_deliverers_pass_prunes_only_old_delivered_rows(
    sessions: sessionmaker[Session], keys: KeyMaterial, clock: FakeClock, receiver: Receiver
) -> None:
    seeded = _seed(
        sessions,
        keys,
        receiver,
        [
            (DELIVERED, 31),  # pruned
            (DELIVERED, 400),  # pruned
            (DELIVERED, 29),  # kept: younger than the retention
            (DEAD, 400),  # kept: a dead letter is unresolved
            (PENDING, None),  # kept: still owed
        ],
        clock(),
    )
    ids = sorted(seeded)
    # Retention off: nothing goes.
    assert _deliverer(sessions, keys, clock, 0).run_once() == []
    assert _left(sessions) == seeded
    # The pass prunes before it looks for due deliveries (none are due here).
    assert _deliverer(sessions, keys, clock, 30).run_once() == []
    assert _left(sessions) == {i: seeded[i] for i in ids[2:]}
    assert receiver.received == []
    # Time passes: the younger delivered row goes too; dead and pending never do.
    clock.now_ms += 2 * DAY
    assert _deliverer(sessions, keys, clock, 30).prune() == 1
    assert _left(sessions) == {ids[3]: DEAD, ids[4]: PENDING}
    clock.now_ms += 5000 * DAY
    assert _deliverer(sessions, keys, clock, 1).prune() == 0
    assert _left(sessions) == {ids[3]: DEAD, ids[4]: PENDING}


def test_pruning_runs_in_batches_until_done(
    sessions: sessionmaker[Session],
    keys: KeyMaterial,
    clock: FakeClock,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retention, "PRUNE_BATCH", 3)
    _seed(sessions, keys, receiver, [(DELIVERED, 40)] * 7 + [(DEAD, 40)], clock())
    assert _deliverer(sessions, keys, clock, 30).prune() == 7
    assert list(_left(sessions).values()) == [DEAD]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from([DELIVERED, DEAD, PENDING]), st.integers(0, 100)),
        min_size=1,
        max_size=8,
    ),
    days=st.integers(1, 60),
)
def test_pruning_deletes_exactly_the_delivered_rows_past_the_retention(
    sessions: sessionmaker[Session],
    keys: KeyMaterial,
    clock: FakeClock,
    receiver: Receiver,
    rows: list[tuple[str, int]],
    days: int,
) -> None:
    with sessions.begin() as session:  # each example starts from an empty list
        session.execute(delete(WebhookDelivery))
        session.execute(delete(WebhookEndpoint))
    finished = [(s, None if s == PENDING else age) for s, age in rows]
    seeded = _seed(sessions, keys, receiver, finished, clock())
    expected = {
        i: s
        for (i, s), (_, age) in zip(sorted(seeded.items()), finished, strict=True)
        if not (s == DELIVERED and age is not None and age > days)
    }
    # An age of exactly ``days`` days is at the cutoff: kept (strictly older goes).
    _deliverer(sessions, keys, clock, days).prune()
    assert _left(sessions) == expected


def test_frankly_webhooks_prune(
    database_url: str,
    sessions: sessionmaker[Session],
    keys: KeyMaterial,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    monkeypatch.setenv("FRANKLY_DATABASE_URL", database_url)
    from report_service._cli_common import now_ms

    seeded = _seed(
        sessions, keys, receiver, [(DELIVERED, 45), (DELIVERED, 10), (DEAD, 45)], now_ms()
    )
    ids = sorted(seeded)
    data = str(tmp_path / "data")
    assert main(["webhooks", "prune", "--older-than-days", "0", "--data", data]) == 2
    assert "at least 1" in capsys.readouterr().err
    assert main(["webhooks", "prune", "--data", data]) == 0  # the default: 30 days
    assert "pruned 1 deliveries" in capsys.readouterr().out
    assert _left(sessions) == {ids[1]: DELIVERED, ids[2]: DEAD}
    assert main(["webhooks", "prune", "--older-than-days", "5", "--data", data]) == 0
    assert "pruned 1 deliveries delivered more than 5 days ago" in capsys.readouterr().out
    assert _left(sessions) == {ids[2]: DEAD}
    monkeypatch.setenv("FRANKLY_WEBHOOK_RETENTION_DAYS", "0")
    assert main(["webhooks", "prune", "--data", data]) == 0
    assert "retention is off" in capsys.readouterr().out
