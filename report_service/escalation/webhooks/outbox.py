"""The transactional outbox: :func:`emit_event` writes one delivery row per subscribed,
enabled endpoint in the caller's session, so an event exists exactly when the change it
announces commits (a rollback removes both). Nothing is sent here; the deliverer
(:mod:`.deliverer`) picks the rows up, in any process, after the commit.

Every delivery gets its own ``webhook-id`` (``msg_`` + 26 random base32 characters),
kept across retries and replays: the consumer's idempotency key.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from report_service.escalation.webhooks.models import PENDING, WebhookDelivery, WebhookEndpoint
from report_service.escalation.webhooks.payload import encode_body, subscribed
from report_service.events import EventHook


def new_message_id(random: Callable[[int], bytes] = os.urandom) -> str:
    """A fresh ``webhook-id``: ``msg_`` and 26 lower-case base32 characters (128 bits)."""
    return "msg_" + base64.b32encode(random(16)).decode("ascii").rstrip("=").lower()


def endpoint_patterns(endpoint: WebhookEndpoint) -> tuple[str, ...]:
    """The event-type patterns an endpoint subscribed to."""
    return tuple(endpoint.event_types.split())


def emit_event(
    session: Session,
    event_type: str,
    data: Mapping[str, object],
    *,
    now_ms: int | None = None,
) -> None:
    """Queue ``event_type`` with ``data`` for every enabled endpoint subscribed to it, in
    ``session``'s transaction (the caller commits). Cheap when nobody subscribed: one
    query over the endpoints table.

    ``data`` holds identifiers and outcomes only (:mod:`.payload`).

    Raises:
        InvalidWebhook: a malformed event type or data (a bug in the caller).
    """
    at = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    body = encode_body(event_type, data, at)  # validates even when nobody listens
    endpoints = session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookEndpoint.id)
    ).all()
    for endpoint in endpoints:
        if subscribed(endpoint_patterns(endpoint), event_type):
            session.add(new_delivery(endpoint.id, event_type, body, at))


def event_hook(clock: Callable[[], int]) -> EventHook:
    """:func:`emit_event` as the ``(session, event_type, data)`` hook that storage and
    review are given, with the event time from the service's ``clock``."""

    def hook(session: Session, event_type: str, data: Mapping[str, object]) -> None:
        emit_event(session, event_type, data, now_ms=clock())

    return hook


def new_delivery(endpoint_id: int, event_type: str, body: bytes, now_ms: int) -> WebhookDelivery:
    """A pending delivery row, due now."""
    return WebhookDelivery(
        endpoint_id=endpoint_id,
        message_id=new_message_id(),
        event_type=event_type,
        body=body.decode("utf-8"),
        status=PENDING,
        attempts=0,
        next_attempt_at=now_ms,
        lease_owner=None,
        lease_until=None,
        last_status=None,
        last_error=None,
        created_at=now_ms,
        finished_at=None,
    )
