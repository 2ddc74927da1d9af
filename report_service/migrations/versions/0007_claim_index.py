"""Claim-next in O(log n): ``review_items.claim_key``, its index, and a lease-expiry index.

Before this revision claim-next sorted every claimable row of a queue on a computed
expression, behind an ``OR`` into the outer-joined ``review_leases``: a sequential scan
and a sort of the whole queue per claim (about a second at a million items on
PostgreSQL). From here on:

* ``review_items.claim_key`` is the queue order as a generated column,
  ``CAST(priority AS BIGINT) * 120000 - created_at`` (120000 ms per priority point, see
  :mod:`report_service.review.queue.priority`): PostgreSQL stores it, SQLite computes it
  (a virtual column; its value is kept in the index). The database computes it for
  every existing row while the column is added, and recomputes it whenever
  ``priority`` or ``created_at`` changes, so no code path can leave it stale.
* ``ix_review_items_claim`` on ``(queue, status, claim_key DESC, id)`` serves
  ``WHERE queue = ? AND status = 'open' ORDER BY claim_key DESC, id LIMIT 1``
  directly: one index probe.
* ``ix_review_leases_expires_at`` can serve the second probe, for claimed items whose
  lease has expired (``WHERE expires_at <= now``); the planner may instead read the
  queue's ``claimed`` entries of ``ix_review_items_claim``. Either way it reads about as
  many rows as there are claims, not as many as waiting items.

Backfill (data). The claim path now relies on "a ``claimed`` item has a lease row"
(expired or not). Revoking a moderator used to delete its lease rows and leave their
items ``claimed``; such items were claimable. They are set back to ``open`` here, which
is what they already meant (``revoke_moderator`` now does the same).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

CLAIM_KEY_SQL = "CAST(priority AS BIGINT) * 120000 - created_at"


def upgrade() -> None:
    # PostgreSQL: STORED (computed for every row now). SQLite: VIRTUAL, the only kind
    # ALTER TABLE ADD COLUMN may add there (the index below keeps its values).
    stored = op.get_bind().dialect.name != "sqlite"
    op.add_column(
        "review_items",
        sa.Column(
            "claim_key",
            sa.BigInteger(),
            sa.Computed(CLAIM_KEY_SQL, persisted=stored),
            nullable=True,
        ),
    )
    op.create_index(
        "ix_review_items_claim",
        "review_items",
        ["queue", "status", sa.text("claim_key DESC"), "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_review_leases_expires_at"), "review_leases", ["expires_at"], unique=False
    )
    items = sa.table(
        "review_items", sa.column("id", sa.Integer()), sa.column("status", sa.String())
    )
    leases = sa.table("review_leases", sa.column("item_id", sa.Integer()))
    op.execute(
        items.update()
        .where(
            items.c.status == "claimed",
            ~sa.exists().where(leases.c.item_id == items.c.id),
        )
        .values(status="open")
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_review_leases_expires_at"), table_name="review_leases")
    op.drop_index("ix_review_items_claim", table_name="review_items")
    op.drop_column("review_items", "claim_key")
