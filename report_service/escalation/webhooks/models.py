"""Tables of the webhooks (migration ``0014``).

``webhook_endpoints``: where to send which events, the endpoint's signing secret
(encrypted, :mod:`.secrets`), whether it is enabled. ``webhook_deliveries``: the outbox and
delivery queue, one row per (event, endpoint), written in the transaction of the change it
announces; its ``message_id`` is the ``webhook-id`` of every attempt (the consumer's
idempotency key). Times are integer milliseconds (service clock).

Delivery states: ``pending`` (due at ``next_attempt_at``; being sent while ``lease_until``
is in the future), ``delivered``, ``dead`` (retries used up, the endpoint removed its
interest with 410, or disabled). ``replay`` puts a dead one back to ``pending``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from report_service.storage.base import Base

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"


class WebhookEndpoint(Base):
    """A receiver of events."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[str] = mapped_column(String(1024))  # space-separated patterns
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    secret_key_id: Mapped[str] = mapped_column(String(128))  # the evidence master key's id
    enabled: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[int] = mapped_column(BigInteger)
    disabled_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class WebhookDelivery(Base):
    """One event for one endpoint, until delivered or dead-lettered."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
