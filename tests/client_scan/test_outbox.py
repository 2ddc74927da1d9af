"""The outbox: retries with backoff on a fake clock, refusals, idempotency, crash safety."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from client_scan.errors import InvalidInput, RecordNotFound, ReportFormatError, ReportRejected
from client_scan.messaging import Messenger
from client_scan.outbox import (
    Outbox,
    OutboxSender,
    OutboxStatus,
    RetryPolicy,
    backoff_delay_s,
)
from client_scan.pinning import fetch_and_pin
from client_scan.records import MemoryRecordStore
from client_scan.report_builder import SealedReport, compose_report, seal
from client_scan.report_format import Reason
from client_scan.service_client import ServiceClient

from .client_fakes import FakeService
from .conftest import SESSION_KEY, FakeClock


def _sealed_report(alice: ServiceClient, bob: ServiceClient) -> SealedReport:
    """A genuine report by bob of a message alice sent him, sealed to the fake service."""
    Messenger("alice", alice, MemoryRecordStore()).send(SESSION_KEY, "bob", "c1", "abuse")
    store = MemoryRecordStore()
    (record,) = Messenger("bob", bob, store).receive(lambda d: SESSION_KEY).accepted
    report = compose_report(store, [record.id], reporter_id="bob", reason=Reason.HARASSMENT)
    return seal(report, fetch_and_pin(bob, store))


@pytest.fixture
def sealed(alice_client: ServiceClient, bob_client: ServiceClient) -> SealedReport:
    return _sealed_report(alice_client, bob_client)


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite")


def test_submit_sends_once_and_records_sent(
    service: FakeService,
    bob_client: ServiceClient,
    outbox: Outbox,
    sealed: SealedReport,
    clock: FakeClock,
) -> None:
    sender = OutboxSender(outbox, bob_client, clock=clock, rng=random.Random(1))
    entry = sender.submit(sealed.report_id, sealed.sealed)
    assert entry.status is OutboxStatus.SENT
    assert entry.service_status == "received"
    assert service.report_posts() == 1
    assert sender.flush().sent == ()
    assert sender.submit(sealed.report_id, sealed.sealed).status is OutboxStatus.SENT
    assert service.report_posts() == 1
    assert bob_client.report_status(sealed.report_id).status == "received"


def test_retryable_failures_back_off_and_honour_retry_after(
    service: FakeService,
    bob_client: ServiceClient,
    outbox: Outbox,
    sealed: SealedReport,
    clock: FakeClock,
) -> None:
    service.fail_next = [
        httpx.ConnectError("down"),
        httpx.Response(503),
        httpx.Response(429, headers={"Retry-After": "120"}),
    ]
    policy = RetryPolicy(base_s=2.0, cap_s=60.0)
    sender = OutboxSender(outbox, bob_client, clock=clock, rng=random.Random(7), policy=policy)
    start = clock.now

    entry = sender.submit(sealed.report_id, sealed.sealed)  # network down
    assert entry.status is OutboxStatus.PENDING
    assert entry.attempts == 1
    assert start <= entry.next_attempt_at <= start + 2.0
    assert sender.flush().sent == ()  # not due yet: no request
    assert service.report_posts() == 1

    clock.now = entry.next_attempt_at
    assert sender.flush().deferred == (sealed.report_id,)  # 503
    entry = outbox.get(sealed.report_id)
    assert entry.attempts == 2
    assert clock.now <= entry.next_attempt_at <= clock.now + 4.0

    clock.now = entry.next_attempt_at
    sender.flush()  # 429 with Retry-After: 120 s although the backoff cap is 8 s
    entry = outbox.get(sealed.report_id)
    assert entry.next_attempt_at >= clock.now + 120
    clock.advance(119)
    assert sender.flush() == type(sender.flush())()
    clock.advance(1)
    assert sender.flush().sent == (sealed.report_id,)
    assert outbox.get(sealed.report_id).status is OutboxStatus.SENT
    assert service.report_posts() == 4
    assert len(service.reports) == 1


def test_refusal_is_kept_as_failed_with_the_service_code(
    service: FakeService, bob_client: ServiceClient, outbox: Outbox, clock: FakeClock
) -> None:
    sender = OutboxSender(outbox, bob_client, clock=clock)
    report_id = str(uuid.uuid4())
    with pytest.raises(ReportRejected) as info:
        sender.submit(report_id, b"definitely not a sealed box")
    assert info.value.code == "seal_invalid"
    entry = outbox.get(report_id)
    assert entry.status is OutboxStatus.FAILED
    assert (entry.error_code, entry.error_status) == ("seal_invalid", 400)
    clock.advance(10_000)
    assert sender.flush() == type(sender.flush())()  # never retried
    assert service.report_posts() == 1
    assert outbox.entries(OutboxStatus.FAILED) == [entry]


def test_verification_failure_names_the_message(
    service: FakeService,
    bob_client: ServiceClient,
    outbox: Outbox,
    sealed: SealedReport,
    clock: FakeClock,
) -> None:
    service.keyring = type(service.keyring)(
        keys=(type(service.keyring.active)("k1", bytes(32), 0),), active_kid="k1"
    )  # the platform "forgot" its key: the stamp no longer verifies
    sender = OutboxSender(outbox, bob_client, clock=clock)
    with pytest.raises(ReportRejected) as info:
        sender.submit(sealed.report_id, sealed.sealed)
    assert (info.value.code, info.value.message_index) == ("stamp_invalid", 0)
    assert outbox.get(sealed.report_id).error_message_index == 0


def test_enqueue_is_idempotent_and_validates(outbox: Outbox) -> None:
    rid = str(uuid.uuid4())
    first = outbox.enqueue(rid.upper(), b"one", 1.0)
    assert first.report_id == rid
    assert outbox.enqueue(rid, b"two", 2.0) == first
    with pytest.raises(ReportFormatError):
        outbox.enqueue("nope", b"x", 1.0)
    with pytest.raises(InvalidInput):
        outbox.enqueue(str(uuid.uuid4()), b"", 1.0)
    with pytest.raises(RecordNotFound):
        outbox.get(str(uuid.uuid4()))
    assert outbox.next_due_at() == 1.0


@given(attempts=st.integers(min_value=1, max_value=200), seed=st.integers(0, 2**32))
def test_backoff_is_full_jitter_under_the_cap(attempts: int, seed: int) -> None:
    policy = RetryPolicy(base_s=1.0, cap_s=300.0)
    delay = backoff_delay_s(attempts, random.Random(seed), policy)
    assert 0.0 <= delay <= min(300.0, 2.0 ** (attempts - 1))
    assert backoff_delay_s(attempts, random.Random(seed), policy, retry_after_s=500) >= 500


def test_backoff_grows_exponentially_on_average() -> None:
    rng = random.Random(3)
    policy = RetryPolicy(base_s=1.0, cap_s=10_000.0)
    means = [sum(backoff_delay_s(n, rng, policy) for _ in range(400)) / 400 for n in (1, 4, 8)]
    assert means[0] < 1.0 < means[1] < 8.0 < means[2]
    with pytest.raises(InvalidInput):
        backoff_delay_s(0, rng, policy)
    with pytest.raises(InvalidInput):
        RetryPolicy(base_s=0)


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import httpx
    from client_scan.outbox import Outbox, OutboxSender
    from client_scan.service_client import ServiceClient

    path, report_id, sealed_path, now = sys.argv[1:5]
    outbox = Outbox(path)

    def die(request):
        # The app is killed after the report was enqueued, before anything was sent.
        os.kill(os.getpid(), signal.SIGKILL)

    client = ServiceClient("https://frankly.test", "tok-bob", transport=httpx.MockTransport(die))
    sender = OutboxSender(outbox, client, clock=lambda: float(now))
    sender.submit(report_id, open(sealed_path, "rb").read())
    print("unreachable")
    """
)


def test_report_survives_a_kill_between_enqueue_and_send_and_is_sent_once(
    tmp_path: Path,
    service: FakeService,
    bob_client: ServiceClient,
    sealed: SealedReport,
    clock: FakeClock,
) -> None:
    path = tmp_path / "outbox.sqlite"
    sealed_path = tmp_path / "sealed.bin"
    sealed_path.write_bytes(sealed.sealed)
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(path),
            sealed.report_id,
            str(sealed_path),
            repr(clock.now),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    assert b"unreachable" not in child.stdout
    assert service.report_posts() == 0

    # The app starts again.
    restarted = Outbox(path)
    entry = restarted.get(sealed.report_id)
    assert entry.status is OutboxStatus.PENDING
    assert entry.sealed == sealed.sealed  # the identical sealed report is re-sent
    sender = OutboxSender(restarted, bob_client, clock=clock)
    assert sender.flush().sent == (sealed.report_id,)
    assert sender.flush().sent == ()
    assert service.report_posts() == 1
    assert list(service.reports) == [sealed.report_id]


def test_resend_after_an_unrecorded_success_is_stored_once(
    service: FakeService,
    bob_client: ServiceClient,
    outbox: Outbox,
    sealed: SealedReport,
    clock: FakeClock,
) -> None:
    # Crash after the service accepted the report but before "sent" was written.
    outbox.enqueue(sealed.report_id, sealed.sealed, clock())
    assert bob_client.submit_report(sealed.sealed).created
    sender = OutboxSender(outbox, bob_client, clock=clock)
    assert sender.flush().sent == (sealed.report_id,)
    assert service.report_posts() == 2
    assert len(service.reports) == 1
