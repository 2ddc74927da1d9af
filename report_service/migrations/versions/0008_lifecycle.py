"""Account lifecycle and item search: ``users.revoked_at`` and two review-item indexes.

- ``users.revoked_at`` (nullable, ms): a revoked reporter / relay user's token gets 401
  at once in every process (the bearer lookup reads it). Existing users stay active
  (NULL).
- ``ix_review_items_sender_id`` and ``ix_review_items_status``: the review search
  (``GET /v1/review/items``) filters by sender and status and pages by id.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("revoked_at", sa.BigInteger(), nullable=True))
    op.create_index(op.f("ix_review_items_sender_id"), "review_items", ["sender_id"], unique=False)
    op.create_index(op.f("ix_review_items_status"), "review_items", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_review_items_status"), table_name="review_items")
    op.drop_index(op.f("ix_review_items_sender_id"), table_name="review_items")
    # A plain DROP COLUMN (SQLite >= 3.35, PostgreSQL): batch mode would rebuild ``users``
    # by DROP TABLE, which SQLite's enforced foreign keys refuse while reports refer to it.
    op.execute("ALTER TABLE users DROP COLUMN revoked_at")
