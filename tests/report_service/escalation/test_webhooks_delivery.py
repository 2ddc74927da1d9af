"""Delivery through a real HTTP receiver on 127.0.0.1, on SQLite and PostgreSQL: the
outbox follows the transaction, retries follow the schedule with the same webhook-id,
dead letters replay, a crashed deliverer's claim is picked up after its lease, two
deliverers never send one attempt twice, secrets are encrypted at rest."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from report_service.escalation.webhooks import emit_event
from report_service.escalation.webhooks.background import webhook_task
from report_service.escalation.webhooks.deliverer import Deliverer
from report_service.escalation.webhooks.errors import InvalidWebhook, SecretUnavailable
from report_service.escalation.webhooks.models import (
    DEAD,
    DELIVERED,
    PENDING,
    WebhookDelivery,
    WebhookEndpoint,
)
from report_service.escalation.webhooks.store import (
    add_endpoint,
    endpoint_key,
    list_deliveries,
    parse_events,
    replay,
    set_enabled,
)
from report_service.keys import KeyMaterial, rotate_key
from report_service.settings import Settings
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from tests.report_service.conftest import FakeClock
from tests.report_service.escalation.webhook_receiver import Receiver


def _endpoint(
    sessions: sessionmaker[Session],
    keys: KeyMaterial,
    receiver: Receiver,
    clock: FakeClock,
    events: str = "item.decided",
) -> int:
    with sessions() as session:
        new = add_endpoint(
            session, keys, receiver.url, parse_events(events), now_ms=clock(), random=os.urandom
        )
    receiver.secret = new.secret
    return new.id


def _deliverer(
    sessions: sessionmaker[Session],
    keys: KeyMaterial,
    clock: FakeClock,
    schedule: tuple[float, ...] = (5, 300, 1800),
    **kw: Any,
) -> Deliverer:
    # uniform() = 0.5: no jitter, so the schedule is exact.
    return Deliverer(
        sessions,
        lambda: keys,
        clock=clock,
        schedule_s=schedule,
        timeout_s=30,  # healthy deliveries to the local receiver, on a loaded machine
        uniform=lambda: 0.5,
        **kw,
    )


def _emit(sessions: sessionmaker[Session], clock: FakeClock, item_id: int = 1) -> None:
    with sessions() as session:
        emit_event(
            session, "item.decided", {"item_id": item_id, "outcome": "warn_sender"}, now_ms=clock()
        )
        session.commit()


def _rows(sessions: sessionmaker[Session]) -> list[WebhookDelivery]:
    with sessions() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_an_event_exists_only_if_its_transaction_commits(
    sessions: sessionmaker[Session], keys: KeyMaterial, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint = _endpoint(sessions, keys, receiver, clock)
    with sessions() as session:
        emit_event(
            session, "item.decided", {"item_id": 1, "outcome": "warn_sender"}, now_ms=clock()
        )
        session.rollback()  # the change failed: no event
    with sessions() as session:
        emit_event(session, "item.claimed", {"item_id": 2}, now_ms=clock())  # not subscribed
        session.commit()
    _emit(sessions, clock, item_id=3)
    [row] = _rows(sessions)
    assert (row.endpoint_id, row.status, row.attempts) == (endpoint, PENDING, 0)

    results = _deliverer(sessions, keys, clock).run_once()
    assert [r.state for r in results] == [DELIVERED]
    [got] = receiver.received
    assert got.verified
    assert got.msg_id == row.message_id
    assert got.timestamp == clock() // 1000
    assert got.event == {
        "type": "item.decided",
        "timestamp": "2026-01-01T00:01:00.000Z",
        "data": {"item_id": 3, "outcome": "warn_sender"},
    }
    assert _deliverer(sessions, keys, clock).run_once() == []  # nothing twice
    assert len(receiver.received) == 1


def test_failures_follow_the_schedule_with_the_same_webhook_id(
    sessions: sessionmaker[Session], keys: KeyMaterial, clock: FakeClock, receiver: Receiver
) -> None:
    _endpoint(sessions, keys, receiver, clock)
    receiver.script = [500, 503, 200]
    _emit(sessions, clock)
    deliverer = _deliverer(sessions, keys, clock)
    start = clock()
    assert [r.status for r in deliverer.run_once()] == [500]
    [row] = _rows(sessions)
    assert (row.status, row.attempts, row.next_attempt_at) == (PENDING, 1, start + 5_000)
    assert (row.last_status, row.last_error) == (500, "HTTP 500")

    clock.now_ms += 4_999
    assert deliverer.run_once() == []  # not due yet
    clock.now_ms += 1
    assert [r.status for r in deliverer.run_once()] == [503]
    [row] = _rows(sessions)
    assert row.next_attempt_at == clock() + 300_000
    clock.now_ms += 300_000
    assert [r.state for r in deliverer.run_once()] == [DELIVERED]

    assert len({r.msg_id for r in receiver.received}) == 1  # one idempotency id throughout
    assert [r.timestamp for r in receiver.received] == [
        start // 1000,
        (start + 5_000) // 1000,
        (start + 305_000) // 1000,
    ]
    assert all(r.verified for r in receiver.received)
    [row] = _rows(sessions)
    assert (row.status, row.attempts, row.finished_at) == (DELIVERED, 3, clock())


def test_retry_after_and_jitter_only_move_the_next_attempt_within_bounds(
    sessions: sessionmaker[Session], keys: KeyMaterial, clock: FakeClock, receiver: Receiver
) -> None:
    _endpoint(sessions, keys, receiver, clock)
    receiver.script = [429]
    receiver.extra_headers = {"retry-after": "60"}
    _emit(sessions, clock)
    _deliverer(sessions, keys, clock).run_once()
    [row] = _rows(sessions)
    assert row.next_attempt_at == clock() + 60_000  # longer than the 5 s of the schedule
    receiver.extra_headers = {}
    receiver.script = [500]
    clock.now_ms += 60_000
    Deliverer(
        sessions, lambda: keys, clock=clock, schedule_s=(5, 300), uniform=lambda: 0.0
    ).run_once()
    [row] = _rows(sessions)
    assert row.next_attempt_at == clock() + 270_000  # 300 s minus 10 % jitter


def test_dead_letter_then_replay_keeps_the_webhook_id(
    sessions: sessionmaker[Session], keys: KeyMaterial, clock: FakeClock, receiver: Receiver
) -> None:
    _endpoint(sessions, keys, receiver, clock)
    receiver.script = [500, 500]
    _emit(sessions, clock)
    deliverer = _deliverer(sessions, keys, clock, schedule=(1,))
    deliverer.run_once()
    clock.now_ms += 1_000
    assert [r.state for r in deliverer.run_once()] == [DEAD]
    clock.now_ms += 10**9
    assert deliverer.run_once() == []  # dead letters are never retried on their own
    with sessions() as session:
        [dead] = list_deliveries(session, status=DEAD)
        dead_id, msg_id = dead.id, dead.message_id
    _emit(sessions, clock, item_id=9)
    with sessions() as session:
        pending = list_deliveries(session, status=PENDING)[0].id
        with pytest.raises(InvalidWebhook):  # a queued one cannot be replayed
            replay(session, clock(), delivery_id=pending)
    with sessions() as session:
        assert replay(session, clock(), since_ms=clock() + 1) == []  # too recent a --since
    with sessions() as session:
        assert replay(session, clock()) == [dead_id]
    results = deliverer.run_once()
    assert sorted(r.state for r in results) == [DELIVERED, DELIVERED]
    assert [r.msg_id for r in receiver.received].count(msg_id) == 3
    assert all(r.verified for r in receiver.received)


def test_a_crashed_deliverers_claim_is_taken_over_after_its_lease(
    database_url: str,
    sessions: sessionmaker[Session],
    keys: KeyMaterial,
    clock: FakeClock,
    receiver: Receiver,
) -> None:
    _endpoint(sessions, keys, receiver, clock)
    _emit(sessions, clock)
    crashed = _deliverer(sessions, keys, clock)
    assert crashed._claim() is not None  # claimed, then the process died before sending

    # A restarted service: a new engine, a new deliverer, nothing carried over in memory.
    engine = make_engine(database_url)
    try:
        fresh = _deliverer(make_session_factory(engine), keys, clock)
        assert fresh.run_once() == []  # the lease still holds
        clock.now_ms += crashed.lease_ms
        [result] = fresh.run_once()
        assert (result.state, result.attempt) == (DELIVERED, 2)
    finally:
        engine.dispose()
    [got] = receiver.received
    assert got.verified
    [row] = _rows(sessions)
    assert (row.status, row.lease_owner, row.lease_until) == (DELIVERED, None, None)


def test_410_gone_disables_the_endpoint_until_enabled(
    sessions: sessionmaker[Session], keys: KeyMaterial, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint = _endpoint(sessions, keys, receiver, clock)
    receiver.script = [410]
    _emit(sessions, clock, item_id=1)
    _emit(sessions, clock, item_id=2)
    deliverer = _deliverer(sessions, keys, clock)
    assert [r.state for r in deliverer.run_once()] == [DEAD]
    with sessions() as session:
        ep = session.get(WebhookEndpoint, endpoint)
        assert ep is not None
        assert not ep.enabled
        assert ep.disabled_reason == "the endpoint answered 410 Gone"
    _emit(sessions, clock, item_id=3)  # a disabled endpoint subscribes to nothing
    assert len(_rows(sessions)) == 2
    assert deliverer.run_once() == []
    with sessions() as session:
        set_enabled(session, endpoint, True)
    assert [r.state for r in deliverer.run_once()] == [DELIVERED]
    assert len(receiver.received) == 2


def test_redirects_are_not_followed_and_answers_are_read_bounded(
    sessions: sessionmaker[Session], keys: KeyMaterial, clock: FakeClock, receiver: Receiver
) -> None:
    _endpoint(sessions, keys, receiver, clock)
    receiver.script = [307]
    receiver.extra_headers = {"location": receiver.url + "/elsewhere"}
    _emit(sessions, clock)
    [result] = _deliverer(sessions, keys, clock).run_once()
    assert (result.status, result.state) == (307, PENDING)
    assert [r.path for r in receiver.received] == ["hook"]  # not followed
    receiver.extra_headers = {}
    receiver.answer_bytes = 8 * 1024 * 1024
    clock.now_ms += 5_000
    [result] = _deliverer(sessions, keys, clock).run_once()
    assert result.state == DELIVERED


def test_unreachable_and_refused_urls_are_failures_not_crashes(
    sessions: sessionmaker[Session], keys: KeyMaterial, clock: FakeClock
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with sessions() as session:
        add_endpoint(
            session,
            keys,
            f"http://127.0.0.1:{port}/x",
            ["item.decided"],
            now_ms=clock(),
            random=os.urandom,
        )
        session.execute(
            text(
                "UPDATE webhook_endpoints SET url = 'http://example.invalid/x'"
                " WHERE id = (SELECT max(id) FROM webhook_endpoints)"
            )
        )
        session.commit()
        add_endpoint(
            session,
            keys,
            f"http://127.0.0.1:{port}/x",
            ["item.decided"],
            now_ms=clock(),
            random=os.urandom,
        )
    _emit(sessions, clock)
    results = _deliverer(sessions, keys, clock).run_once()
    errors = sorted(r.error or "" for r in results)
    assert errors[0].startswith("ConnectError")
    assert errors[1].startswith("refused: a webhook URL must use https")  # stored URL edited
    assert all(r.state == PENDING for r in results)


def test_secrets_are_encrypted_at_rest_and_follow_master_key_rotation(
    sessions: sessionmaker[Session], keys: KeyMaterial, clock: FakeClock, receiver: Receiver
) -> None:
    endpoint = _endpoint(sessions, keys, receiver, clock)
    assert receiver.secret is not None
    from report_service.escalation.webhooks.signing import parse_secret

    raw = parse_secret(receiver.secret)
    with sessions() as session:
        ep = session.get(WebhookEndpoint, endpoint)
        assert ep is not None
        assert raw not in ep.secret_ciphertext
        assert receiver.secret.encode() not in ep.secret_ciphertext
        assert ep.secret_key_id == keys.master_active

    rotated = rotate_key(keys, "master", os.urandom, clock())
    _emit(sessions, clock)
    assert [r.state for r in _deliverer(sessions, rotated, clock).run_once()] == [DELIVERED]
    with sessions() as session:
        ep = session.get(WebhookEndpoint, endpoint)
        assert ep is not None
        assert ep.secret_key_id == rotated.master_active
        assert endpoint_key(rotated, ep) == raw
        with pytest.raises(SecretUnavailable):  # the old key file alone no longer opens it
            endpoint_key(keys, ep)
    # A key file without the secret's master key: the attempt fails, nothing is sent.
    _emit(sessions, clock)
    [result] = _deliverer(sessions, keys, clock).run_once()
    assert result.state == PENDING
    assert "no longer holds" in (result.error or "")
    assert len(receiver.received) == 1


def test_two_deliverers_never_send_one_attempt_twice(
    database_url: str,
    sessions: sessionmaker[Session],
    keys: KeyMaterial,
    clock: FakeClock,
    receiver: Receiver,
) -> None:
    _endpoint(sessions, keys, receiver, clock)
    for i in range(30):
        _emit(sessions, clock, item_id=i)
    receiver.delay_s = 0.005
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        deliverers = [_deliverer(make_session_factory(e), keys, clock, batch=100) for e in engines]
        results: list[list[Any]] = [[], []]
        barrier = threading.Barrier(2)

        def run(i: int) -> None:
            barrier.wait()
            results[i] = deliverers[i].run_once()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for e in engines:
            e.dispose()
    ids = [r.msg_id for r in receiver.received]
    assert len(ids) == 30
    assert len(set(ids)) == 30
    assert sorted(r.message_id for batch in results for r in batch) == sorted(ids)
    assert all(r.attempt == 1 and r.state == DELIVERED for batch in results for r in batch)
    assert all(r.status == DELIVERED for r in _rows(sessions))


def test_the_serve_background_task_delivers(
    sessions: sessionmaker[Session],
    keys: KeyMaterial,
    clock: FakeClock,
    receiver: Receiver,
    tmp_path: Any,
) -> None:
    _endpoint(sessions, keys, receiver, clock)
    _emit(sessions, clock)
    settings = Settings(environment="development", data_dir=tmp_path, webhook_poll_interval_s=0.05)

    async def main() -> None:
        async with webhook_task(settings, sessions, lambda: keys, clock):
            deadline = time.monotonic() + 120  # a deadline for a loaded machine
            while not receiver.received and time.monotonic() < deadline:
                await asyncio.sleep(0.02)

    asyncio.run(main())
    assert len(receiver.received) == 1
    assert receiver.received[0].verified
    assert _rows(sessions)[0].status == DELIVERED


def test_an_idle_poll_takes_no_sqlite_write_lock(
    sqlite_url: str, keys: KeyMaterial, clock: FakeClock, receiver: Receiver
) -> None:
    """Every serve process polls every few seconds: with nothing due, a pass only reads,
    so it neither waits for nor blocks a report being stored."""
    import sqlite3

    upgrade_database(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        sessions = make_session_factory(engine)
        reads = make_session_factory(engine, read_only=True)
        _endpoint(sessions, keys, receiver, clock)
        writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")  # another process is writing
            deliverer = _deliverer(sessions, keys, clock, read_session_factory=reads)
            assert deliverer.run_once() == []  # would wait for the lock, then fail
            writer.execute("ROLLBACK")
        finally:
            writer.close()
        _emit(sessions, clock)
        assert [r.state for r in deliverer.run_once()] == [DELIVERED]
    finally:
        engine.dispose()
