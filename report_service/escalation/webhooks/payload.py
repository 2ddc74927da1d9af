"""Event types and the body of a webhook (Standard Webhooks "Payload structure").

A body is minified JSON ``{"type": ..., "timestamp": ..., "data": {...}}``: ``type`` is a
full-stop delimited event type, ``timestamp`` the time the event happened (ISO 8601 UTC,
milliseconds), ``data`` a "thin" payload. Data carries identifiers and outcomes only:
values are strings, integers, booleans, null or lists of those, at most
:data:`MAX_DATA_BYTES` in all. Message text, attachments, tokens and keys have no place
in it; a consumer that needs more asks the service's API, where access is audited.

Pure: the event time is a parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from report_service.escalation.webhooks.errors import InvalidWebhook

REPORT_CREATED = "report.created"
ITEM_CLAIMED = "item.claimed"
ITEM_DECIDED = "item.decided"
ITEM_ESCALATED = "item.escalated"
NCMEC_SUBMITTED = "ncmec.submitted"
WEBHOOK_TEST = "webhook.test"

KNOWN_EVENTS = (REPORT_CREATED, ITEM_CLAIMED, ITEM_DECIDED, ITEM_ESCALATED, NCMEC_SUBMITTED)
"""The event types an endpoint can subscribe to by name (other packages may emit more,
e.g. ``appeal.*``; subscribe with a ``prefix.*`` pattern or ``*``)."""

EVENT_TYPE = re.compile(r"[a-z0-9_]{1,32}(\.[a-z0-9_]{1,32}){1,3}")
SUBSCRIPTION = re.compile(r"\*|[a-z0-9_]{1,32}(\.[a-z0-9_]{1,32}){0,2}\.\*|" + EVENT_TYPE.pattern)
MAX_DATA_BYTES = 4096
MAX_KEYS = 32
MAX_LIST = 100

Scalar = str | int | bool | None


def check_event_type(event_type: str) -> str:
    """``event_type`` if it is a well-formed type (``a.b``, lower case, digits, ``_``).

    Raises:
        InvalidWebhook: it is not.
    """
    if not EVENT_TYPE.fullmatch(event_type):
        raise InvalidWebhook(f"{event_type!r} is not an event type like report.created")
    return event_type


def check_subscription(pattern: str) -> str:
    """``pattern`` if it names an event type, a ``prefix.*`` family or ``*``.

    Raises:
        InvalidWebhook: it does not.
    """
    if not SUBSCRIPTION.fullmatch(pattern):
        raise InvalidWebhook(
            f"{pattern!r} is not an event type (e.g. item.decided), a family (appeal.*) or *"
        )
    return pattern


def subscribed(patterns: tuple[str, ...], event_type: str) -> bool:
    """Whether an endpoint subscribed to ``patterns`` receives ``event_type``.

    ``webhook.test`` goes only to the endpoint being tested, never by subscription."""
    if event_type == WEBHOOK_TEST:
        return False
    for p in patterns:
        if p == "*" or p == event_type:
            return True
        if p.endswith(".*") and event_type.startswith(p[:-1]):
            return True
    return False


def _check_value(key: str, value: object) -> None:
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            raise InvalidWebhook(f"event data {key!r} lists more than {MAX_LIST} values")
        for v in value:
            if not (v is None or isinstance(v, (str, int, bool))) or isinstance(v, float):
                raise InvalidWebhook(f"event data {key!r} lists a non-scalar value")
        return
    if value is None or isinstance(value, (str, int, bool)):
        return
    raise InvalidWebhook(f"event data {key!r} is not a string, integer, boolean or list")


def iso_utc_ms(ms: int) -> str:
    """``2026-01-01T00:00:00.000Z`` for milliseconds since the epoch."""
    at = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def encode_body(event_type: str, data: Mapping[str, object], at_ms: int) -> bytes:
    """The minified JSON body of an event (keys sorted, UTF-8).

    Raises:
        InvalidWebhook: a malformed event type, or data that is not flat identifiers and
            outcomes within the limits.
    """
    check_event_type(event_type)
    if len(data) > MAX_KEYS:
        raise InvalidWebhook(f"event data has more than {MAX_KEYS} keys")
    for key, value in data.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", key):
            raise InvalidWebhook(f"event data key {key!r} is not snake_case")
        _check_value(key, value)
    body = {"type": event_type, "timestamp": iso_utc_ms(at_ms), "data": dict(data)}
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    if len(raw) > MAX_DATA_BYTES + 128:
        raise InvalidWebhook(f"event data is larger than {MAX_DATA_BYTES} bytes")
    return raw
