"""The acknowledged relay inbox: idempotent sends, quotas and paged fetches.

- ``relay_sends``: one row per accepted send, kept until the relay's TTL. A repeated
  send with the same ``(sender_id, client_message_id)`` is answered from it with the first
  stamp; the sender's sends per window are counted from it for the quota. It holds no
  ciphertext, commitment, recipient or conversation (only a digest of the first request).
- ``relay_queue.size``: the ciphertext's length in bytes, so that inbox quotas and page
  budgets are sums over an integer column. Existing rows are backfilled from
  ``length(ciphertext)`` (bytes on SQLite blobs and PostgreSQL ``bytea`` alike).
- ``ix_relay_queue_inbox_order``: the inbox is read in ``(timestamp_ms, message_id)``
  order per recipient, and paged by that key.

Queued messages are kept as they are: with the acknowledged inbox, they now stay until
the recipient acknowledges them (or their TTL passes) instead of leaving on the first
fetch. Sends made before this revision have no ``relay_sends`` row: they count for
nobody's window (at most one window of sends is missed) and cannot be repeated
idempotently (they had no client id to repeat).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "relay_sends",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("client_message_id", sa.String(length=128), nullable=True),
        sa.Column("request_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.LargeBinary(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_relay_sends")),
        sa.UniqueConstraint(
            "sender_id",
            "client_message_id",
            name=op.f("uq_relay_sends_sender_id_client_message_id"),
        ),
    )
    op.create_index(op.f("ix_relay_sends_expires_at"), "relay_sends", ["expires_at"], unique=False)
    op.create_index(
        "ix_relay_sends_sender_time", "relay_sends", ["sender_id", "timestamp_ms"], unique=False
    )
    with op.batch_alter_table("relay_queue") as batch:
        batch.add_column(sa.Column("size", sa.Integer(), server_default="0", nullable=False))
    queue = sa.table(
        "relay_queue", sa.column("size", sa.Integer()), sa.column("ciphertext", sa.LargeBinary())
    )
    op.execute(queue.update().values(size=sa.func.length(queue.c.ciphertext)))
    op.create_index(
        "ix_relay_queue_inbox_order",
        "relay_queue",
        ["recipient_id", "timestamp_ms", "message_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_relay_queue_inbox_order", table_name="relay_queue")
    with op.batch_alter_table("relay_queue") as batch:
        batch.drop_column("size")
    op.drop_index("ix_relay_sends_sender_time", table_name="relay_sends")
    op.drop_index(op.f("ix_relay_sends_expires_at"), table_name="relay_sends")
    op.drop_table("relay_sends")
