"""The deliverer: sends due deliveries, one attempt at a time, under a database lease.

A pass (:meth:`Deliverer.run_once`) repeats, up to ``batch`` times: claim one due
delivery, POST it, record the outcome. Several processes may run passes at once (every
``frankly serve`` worker, ``frankly webhooks deliver`` from cron):

- **Claim.** One short transaction selects the oldest due ``pending`` row of an enabled
  endpoint whose lease is free or expired, skipping rows another claimer has locked
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite the write transaction is
  ``BEGIN IMMEDIATE`` and so already exclusive), counts the attempt and sets
  ``lease_owner`` and ``lease_until`` (twice the request timeout plus 30 s). The
  transaction commits before any network I/O.
- **Send.** POST with the Standard Webhooks headers, the same ``webhook-id`` on every
  attempt and a fresh ``webhook-timestamp``; redirects are not followed, the answer's
  body is read to at most :data:`MAX_RESPONSE_BYTES` and dropped.
- **Record.** Only if the row still carries this claim (owner and attempt number): a 2xx
  marks it ``delivered``; 410 Gone dead-letters it and disables the endpoint (the
  receiver said it wants no more); anything else (another status, a timeout, a refused
  connection) schedules the next attempt (:mod:`.schedule`), or dead-letters it when the
  schedule is used up. ``Retry-After`` can only lengthen the wait.

A process that dies between claim and record leaves a lease that expires; the next
claimer sends the event again with the same ``webhook-id``: at least once, never two
copies of one attempt at the same time. Nothing lives in memory between passes.
"""

from __future__ import annotations

import logging
import os
import random as _random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, sessionmaker

from report_service.escalation.webhooks import retention, schedule
from report_service.escalation.webhooks.errors import InvalidWebhook, SecretUnavailable
from report_service.escalation.webhooks.models import (
    DEAD,
    DELIVERED,
    PENDING,
    WebhookDelivery,
    WebhookEndpoint,
)
from report_service.escalation.webhooks.outbox import new_message_id
from report_service.escalation.webhooks.payload import WEBHOOK_TEST, encode_body
from report_service.escalation.webhooks.signing import headers as signed_headers
from report_service.escalation.webhooks.store import (
    endpoint_key,
    get_endpoint,
    rewrap_secrets,
    secrets_to_rewrap,
)
from report_service.escalation.webhooks.urls import check_url
from report_service.keys import KeyMaterial

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "frankly-webhooks/1"
_log = logging.getLogger("frankly.webhooks")


@dataclass(frozen=True, slots=True)
class Result:
    """What one attempt gave: the HTTP status (``None`` if no answer) or the error."""

    delivery_id: int | None
    message_id: str
    endpoint_id: int
    attempt: int
    status: int | None
    error: str | None
    state: str  # delivered, pending (will retry), dead; "sent"/"failed" for a test

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class _Claim:
    delivery_id: int
    endpoint_id: int
    message_id: str
    body: bytes
    attempt: int


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return float(int(value.strip()[:9]))


class Deliverer:
    """Sends the queued deliveries of ``session_factory``'s database.

    ``keys`` returns the key material (its master keys decrypt the endpoint secrets);
    ``clock`` milliseconds since the epoch; ``uniform`` the jitter in ``[0, 1)``;
    ``transport`` an httpx transport (tests), else real network.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        keys: Callable[[], KeyMaterial],
        *,
        clock: Callable[[], int],
        schedule_s: Sequence[float] = schedule.DEFAULT_SCHEDULE_S,
        timeout_s: float = 15.0,
        allow_http: bool = False,
        batch: int = 50,
        uniform: Callable[[], float] = _random.random,
        random: Callable[[int], bytes] = os.urandom,
        transport: httpx.BaseTransport | None = None,
        owner: str | None = None,
        read_session_factory: sessionmaker[Session] | None = None,
        retention_days: int = 0,
    ) -> None:
        self._sessions = session_factory
        self._retention_days = retention_days
        # An idle poll only reads (on SQLite: no write lock every few seconds per process).
        self._reads = read_session_factory or session_factory
        self._keys = keys
        self._clock = clock
        self._schedule = tuple(schedule_s)
        self._timeout = timeout_s
        self._allow_http = allow_http
        self._batch = batch
        self._uniform = uniform
        self._random = random
        self._transport = transport
        self.owner = owner or f"{os.getpid()}-{new_message_id()[4:16]}"
        self.lease_ms = int((2 * timeout_s + 30) * 1000)

    def _client(self) -> httpx.Client:
        return httpx.Client(
            timeout=httpx.Timeout(self._timeout),
            follow_redirects=False,
            transport=self._transport,
            headers={"user-agent": USER_AGENT},
        )

    # ------------------------------------------------------------------ claim

    def _due(self, now: int) -> Select[WebhookDelivery]:
        return (
            select(WebhookDelivery)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.status == PENDING,
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until <= now),
                WebhookEndpoint.enabled.is_(True),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(1)
        )

    def _anything_due(self) -> bool:
        with self._reads() as session:
            return session.scalars(self._due(self._clock())).first() is not None

    def _claim(self) -> _Claim | None:
        now = self._clock()
        with self._sessions() as session:
            q = self._due(now)
            if session.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True, of=WebhookDelivery)
            row = session.scalars(q).first()
            if row is None:
                session.rollback()
                return None
            row.attempts += 1
            row.lease_owner = self.owner
            row.lease_until = now + self.lease_ms
            claim = _Claim(row.id, row.endpoint_id, row.message_id, row.body.encode(), row.attempts)
            session.commit()
            return claim

    # ------------------------------------------------------------------ send

    def _post(
        self, client: httpx.Client, url: str, key: bytes, message_id: str, body: bytes
    ) -> tuple[int | None, str | None, float | None]:
        """POST one signed attempt; ``(status, error, retry_after_s)``."""
        try:
            check_url(url, allow_http=self._allow_http)
        except InvalidWebhook as exc:
            return None, f"refused: {exc}", None
        now_s = self._clock() // 1000
        sent = {
            **signed_headers(key, message_id, now_s, body),
            "content-type": "application/json",
        }
        try:
            started = time.monotonic()
            with client.stream("POST", url, content=body, headers=sent) as response:
                # The status is what counts; read a little of the answer (so the
                # connection can be reused), never more than 64 KiB or past the timeout.
                read = 0
                for chunk in response.iter_raw():
                    read += len(chunk)
                    if read >= MAX_RESPONSE_BYTES or time.monotonic() - started > self._timeout:
                        break
                status = response.status_code
                retry = _retry_after(response.headers.get("retry-after"))
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: no answer", None
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return status, error, retry

    def _attempt(self, client: httpx.Client, claim: _Claim) -> Result:
        error: str | None = None
        key: bytes | None = None
        with self._sessions() as session:
            endpoint = session.get(WebhookEndpoint, claim.endpoint_id)
            url = endpoint.url if endpoint is not None else ""
            if endpoint is None:
                error = "the endpoint was removed"
            else:
                try:
                    key = endpoint_key(self._keys(), endpoint)
                except SecretUnavailable as exc:
                    error = str(exc)
        if key is None:
            return self._record(claim, None, error, None)
        status, error, retry = self._post(client, url, key, claim.message_id, claim.body)
        return self._record(claim, status, error, retry)

    # ------------------------------------------------------------------ record

    def _record(
        self, claim: _Claim, status: int | None, error: str | None, retry: float | None
    ) -> Result:
        now = self._clock()
        with self._sessions() as session:
            row = session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.id == claim.delivery_id)
                .with_for_update()
            ).first()
            if row is None or row.lease_owner != self.owner or row.attempts != claim.attempt:
                session.rollback()  # removed, or the lease expired and another took over
                return Result(
                    claim.delivery_id,
                    claim.message_id,
                    claim.endpoint_id,
                    claim.attempt,
                    status,
                    error,
                    "superseded",
                )
            row.last_status = status
            row.last_error = None if error is None else error[:300]
            row.lease_owner = None
            row.lease_until = None
            if status is not None and 200 <= status < 300:
                row.status, row.finished_at = DELIVERED, now
            elif status == 410:
                row.status, row.finished_at = DEAD, now
                endpoint = session.get(WebhookEndpoint, row.endpoint_id)
                if endpoint is not None:
                    endpoint.enabled = False
                    endpoint.disabled_reason = "the endpoint answered 410 Gone"
            else:
                due = schedule.next_attempt_at(
                    now, row.attempts, self._schedule, self._uniform, retry_after_s=retry
                )
                if due is None:
                    row.status, row.finished_at = DEAD, now
                else:
                    row.next_attempt_at = due
            state = row.status
            session.commit()
        if state != DELIVERED:
            _log.warning(
                "webhook delivery failed",
                extra={
                    "delivery_id": claim.delivery_id,
                    "endpoint_id": claim.endpoint_id,
                    "attempt": claim.attempt,
                    "status": status,
                    "error": error,
                    "state": state,
                },
            )
        return Result(
            claim.delivery_id,
            claim.message_id,
            claim.endpoint_id,
            claim.attempt,
            status,
            error,
            state,
        )

    # ------------------------------------------------------------------ passes

    def run_once(self, stopping: Callable[[], bool] = lambda: False) -> list[Result]:
        """One pass: up to ``batch`` due deliveries, each claimed, sent and recorded
        (``stopping()`` true ends it after the current one). Endpoint secrets under an
        older master key are re-encrypted first."""
        keys = self._keys()
        with self._reads() as session:
            stale = secrets_to_rewrap(session, keys)
        if stale:
            with self._sessions() as session:
                rewrap_secrets(session, keys, self._random)
        self.prune()
        results: list[Result] = []
        if not self._anything_due():
            return results
        with self._client() as client:
            for _ in range(self._batch):
                if stopping():
                    break
                claim = self._claim()
                if claim is None:
                    break
                results.append(self._attempt(client, claim))
        return results

    def prune(self, retention_days: int | None = None) -> int:
        """Delete delivered rows older than ``retention_days`` (default: the deliverer's
        own; 0 keeps everything), a batch at a time, after a read-only look; how many
        (:mod:`.retention`)."""
        days = self._retention_days if retention_days is None else retention_days
        if days <= 0:
            return 0
        before = retention.cutoff_ms(self._clock(), days)
        with self._reads() as session:
            if not retention.anything_to_prune(session, before):
                return 0
        total = 0
        while True:
            with self._sessions.begin() as session:
                n = retention.prune_delivered(session, before)
            total += n
            if n < retention.PRUNE_BATCH:
                return total

    def send_test(self, endpoint_id: int) -> Result:
        """POST a ``webhook.test`` event to one endpoint now (enabled or not), outside the
        queue; nothing is retried.

        Raises:
            NotFound: no such endpoint.
            SecretUnavailable: its secret cannot be decrypted.
        """
        now = self._clock()
        with self._sessions() as session:
            endpoint = get_endpoint(session, endpoint_id)
            key = endpoint_key(self._keys(), endpoint)
            url = endpoint.url
        message_id = new_message_id(self._random)
        body = encode_body(WEBHOOK_TEST, {"endpoint_id": endpoint_id}, now)
        with self._client() as client:
            status, error, _ = self._post(client, url, key, message_id, body)
        ok = status is not None and 200 <= status < 300
        return Result(None, message_id, endpoint_id, 1, status, error, "sent" if ok else "failed")


def wall_clock_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000
