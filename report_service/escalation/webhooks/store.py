"""Endpoints and the delivery list: add, list, remove, replay, re-encrypt secrets.

Each function takes a session and leaves the commit to the caller unless it says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from report_service.errors import Conflict, KeyFileError, NotFound
from report_service.escalation.webhooks.errors import InvalidWebhook, SecretUnavailable
from report_service.escalation.webhooks.models import (
    DEAD,
    PENDING,
    WebhookDelivery,
    WebhookEndpoint,
)
from report_service.escalation.webhooks.payload import check_subscription
from report_service.escalation.webhooks.secret_box import NONCE_BYTES, open_secret, seal_secret
from report_service.escalation.webhooks.signing import new_secret, parse_secret
from report_service.escalation.webhooks.urls import check_url
from report_service.keys import KeyMaterial

MAX_DESCRIPTION_CHARS = 500


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    """An endpoint just added, with its secret: the only time the secret is shown."""

    id: int
    url: str
    event_types: tuple[str, ...]
    secret: str


def parse_events(text: str) -> tuple[str, ...]:
    """``a.b,c.*`` as sorted, de-duplicated patterns.

    Raises:
        InvalidWebhook: empty, or a pattern that is not an event type, family or ``*``.
    """
    patterns = sorted({p.strip() for p in text.split(",") if p.strip()})
    if not patterns:
        raise InvalidWebhook("name at least one event type (e.g. --events report.created)")
    return tuple(check_subscription(p) for p in patterns)


def add_endpoint(
    session: Session,
    keys: KeyMaterial,
    url: str,
    events: Sequence[str],
    *,
    description: str = "",
    now_ms: int,
    random: Callable[[int], bytes],
    allow_http: bool = False,
) -> NewEndpoint:
    """Add an enabled endpoint with a fresh secret (encrypted at rest); commits.

    Raises:
        InvalidWebhook: a URL, event pattern or description that is not acceptable.
    """
    check_url(url, allow_http=allow_http)
    patterns = tuple(sorted({check_subscription(e) for e in events}))
    if not patterns:
        raise InvalidWebhook("name at least one event type")
    if len(description) > MAX_DESCRIPTION_CHARS or any(ord(c) < 32 for c in description):
        raise InvalidWebhook(
            f"a description is at most {MAX_DESCRIPTION_CHARS} printable characters"
        )
    secret = new_secret(random)
    master = keys.active_master
    endpoint = WebhookEndpoint(
        url=url,
        event_types=" ".join(patterns),
        secret_ciphertext=b"",
        secret_key_id=master.kid,
        enabled=True,
        description=description,
        created_at=now_ms,
        disabled_reason=None,
    )
    session.add(endpoint)
    session.flush()  # the id binds the ciphertext
    endpoint.secret_ciphertext = seal_secret(
        master.key, master.kid, endpoint.id, parse_secret(secret), random(NONCE_BYTES)
    )
    session.commit()
    return NewEndpoint(endpoint.id, url, patterns, secret)


def endpoint_key(keys: KeyMaterial, endpoint: WebhookEndpoint) -> bytes:
    """The signing key bytes of ``endpoint``.

    Raises:
        SecretUnavailable: its master key is gone from the key file, or the row was altered.
    """
    try:
        master = keys.master_key(endpoint.secret_key_id)
    except KeyFileError:
        raise SecretUnavailable(
            f"endpoint {endpoint.id}'s secret is under master key "
            f"{endpoint.secret_key_id!r}, which the key file no longer holds: "
            "remove the endpoint and add it again"
        ) from None
    return open_secret(master.key, master.kid, endpoint.id, endpoint.secret_ciphertext)


def secrets_under(session: Session, kid: str) -> int:
    """How many endpoint secrets are encrypted under master key ``kid``."""
    rows = session.scalars(
        select(WebhookEndpoint.id).where(WebhookEndpoint.secret_key_id == kid)
    ).all()
    return len(rows)


def check_retirable(session: Session, kid: str) -> None:
    """Refuse to retire master key ``kid`` while an endpoint secret needs it.

    Raises:
        Conflict: some secret is still under ``kid`` (``frankly keys rewrap`` moves them).
    """
    count = secrets_under(session, kid)
    if count:
        raise Conflict(
            f"{count} webhook endpoint secret(s) are still encrypted under master key "
            f"{kid}: run `frankly keys rewrap` first"
        )


def secrets_to_rewrap(session: Session, keys: KeyMaterial) -> int:
    """How many endpoint secrets are under an older master key the key file still holds
    (those :func:`rewrap_secrets` can move)."""
    older = [k.kid for k in keys.master if k.kid != keys.master_active]
    if not older:
        return 0
    rows = session.scalars(
        select(WebhookEndpoint.id).where(WebhookEndpoint.secret_key_id.in_(older))
    ).all()
    return len(rows)


def rewrap_secrets(session: Session, keys: KeyMaterial, random: Callable[[int], bytes]) -> int:
    """Re-encrypt every secret still under an older master key under the active one
    (those whose key is gone stay as they are); commits; returns how many moved."""
    active = keys.active_master
    moved = 0
    rows = session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.secret_key_id != active.kid).with_for_update()
    ).all()
    for endpoint in rows:
        try:
            key = endpoint_key(keys, endpoint)
        except SecretUnavailable:  # its key is gone: nothing to move it with
            continue
        endpoint.secret_ciphertext = seal_secret(
            active.key, active.kid, endpoint.id, key, random(NONCE_BYTES)
        )
        endpoint.secret_key_id = active.kid
        moved += 1
    session.commit()
    return moved


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint ``endpoint_id``.

    Raises:
        NotFound: no such endpoint.
    """
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


def remove_endpoint(session: Session, endpoint_id: int) -> int:
    """Remove an endpoint and its queued and past deliveries; commits; returns how many
    deliveries went with it.

    Raises:
        NotFound: no such endpoint.
    """
    endpoint = get_endpoint(session, endpoint_id)
    count = len(
        session.scalars(
            select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint_id)
        ).all()
    )
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    session.delete(endpoint)
    session.commit()
    return count


def list_deliveries(
    session: Session, *, status: str | None = None, since_ms: int | None = None, limit: int = 100
) -> list[WebhookDelivery]:
    """Deliveries, newest first, optionally only of one status or created since a time."""
    q = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if status is not None:
        q = q.where(WebhookDelivery.status == status)
    if since_ms is not None:
        q = q.where(WebhookDelivery.created_at >= since_ms)
    return list(session.scalars(q))


def replay(
    session: Session,
    now_ms: int,
    *,
    delivery_id: int | None = None,
    since_ms: int | None = None,
) -> list[int]:
    """Put dead-lettered deliveries back in the queue, due now, with a fresh retry
    schedule and the SAME ``webhook-id`` (the consumer may have processed an earlier
    attempt); commits; returns their ids.

    With ``delivery_id``, that one delivery (dead or delivered: a consumer may ask for an
    event again); otherwise every dead one (created since ``since_ms`` if given) whose
    endpoint is enabled.

    Raises:
        NotFound: no such delivery.
        InvalidWebhook: the delivery is pending already, or its endpoint is disabled.
    """
    if delivery_id is not None:
        row = session.get(WebhookDelivery, delivery_id)
        if row is None:
            raise NotFound(f"no webhook delivery {delivery_id}")
        if row.status == PENDING:
            raise InvalidWebhook(f"delivery {delivery_id} is still queued")
        endpoint = get_endpoint(session, row.endpoint_id)
        if not endpoint.enabled:
            raise InvalidWebhook(f"endpoint {endpoint.id} is disabled: enable it first")
        ids = [row.id]
    else:
        q = (
            select(WebhookDelivery.id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status == DEAD, WebhookEndpoint.enabled.is_(True))
        )
        if since_ms is not None:
            q = q.where(WebhookDelivery.created_at >= since_ms)
        ids = list(session.scalars(q.order_by(WebhookDelivery.id)))
    if ids:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .values(
                status=PENDING,
                attempts=0,
                next_attempt_at=now_ms,
                lease_owner=None,
                lease_until=None,
                finished_at=None,
            )
        )
    session.commit()
    return ids


def set_enabled(session: Session, endpoint_id: int, enabled: bool) -> None:
    """Enable or disable an endpoint; commits.

    Raises:
        NotFound: no such endpoint.
    """
    endpoint = get_endpoint(session, endpoint_id)
    endpoint.enabled = enabled
    endpoint.disabled_reason = None if enabled else "disabled by an operator"
    session.commit()
