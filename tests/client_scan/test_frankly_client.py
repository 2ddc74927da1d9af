"""FranklyClient: a report made offline is sealed to the pinned key, kept, and sent after a
restart; without any pinned key it cannot be sealed."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from client_scan.client import FranklyClient
from client_scan.errors import KeyPinError, SubmissionDeferred
from client_scan.outbox import OutboxStatus
from client_scan.report_format import Reason

from .client_fakes import FakeService
from .conftest import SESSION_KEY, FakeClock


def _client(service: FakeService, clock: FakeClock, folder: Path, user: str) -> FranklyClient:
    return FranklyClient(
        user_id=user,
        base_url="https://frankly.test",
        token=f"tok-{user}",
        data_dir=folder / user,
        transport=service.transport,
        clock=clock,
        rng=random.Random(0),
    )


def test_offline_report_is_sent_after_restart(
    service: FakeService, clock: FakeClock, tmp_path: Path
) -> None:
    with _client(service, clock, tmp_path, "alice") as alice:
        alice.send(SESSION_KEY, "bob", "c1", "abuse")
    with _client(service, clock, tmp_path, "bob") as bob:
        (record,) = bob.receive(lambda d: SESSION_KEY).accepted
        bob.report_key()  # pinned while online
        service.fail_next = [httpx.ConnectError("offline")] * 2  # key fetch, then submit
        entry = bob.report([record.id], Reason.SCAM, comment="sent offline")
        assert entry.status is OutboxStatus.PENDING
        report_id = entry.report_id
    assert service.reports == {}

    clock.advance(3600)
    with _client(service, clock, tmp_path, "bob") as bob:
        result = bob.flush_outbox()
        assert result.sent == (report_id,)
        assert bob.outbox.get(report_id).status is OutboxStatus.SENT
        assert bob.report_status(report_id).status == "received"
    assert list(service.reports) == [report_id]


def test_offline_without_a_pinned_key_cannot_seal(
    service: FakeService, clock: FakeClock, tmp_path: Path
) -> None:
    with _client(service, clock, tmp_path, "alice") as alice:
        alice.send(SESSION_KEY, "bob", "c1", "abuse")
    with _client(service, clock, tmp_path, "bob") as bob:
        (record,) = bob.receive(lambda d: SESSION_KEY).accepted
        service.fail_next = [httpx.ConnectError("offline")]
        with pytest.raises(SubmissionDeferred):
            bob.report([record.id], Reason.SCAM)
        assert bob.outbox.entries() == []


def test_a_swapped_service_key_stops_the_report_before_sealing(
    service: FakeService, clock: FakeClock, tmp_path: Path
) -> None:
    from nacl.public import PrivateKey

    with _client(service, clock, tmp_path, "alice") as alice:
        alice.send(SESSION_KEY, "bob", "c1", "abuse")
    with _client(service, clock, tmp_path, "bob") as bob:
        (record,) = bob.receive(lambda d: SESSION_KEY).accepted
        bob.report_key()
        service.report_key = PrivateKey.generate()
        with pytest.raises(KeyPinError):
            bob.report([record.id], Reason.SCAM)
        assert bob.outbox.entries() == []
        assert service.report_posts() == 0
