"""Audit entries awaiting the chain: the ``audit_pending`` table.

High-volume moderator actions (claim, release, item view) may record their audit entry
here, in their own transaction, instead of locking the chain head (``audit_head``) through
their commit; the sequencer moves them into ``audit_log`` in ``id`` order, chained, within
the sequencing interval (see :mod:`report_service.review.audit.store`). Nothing existing
changes. The downgrade refuses while entries are still waiting: chain them first
(``frankly audit verify`` does).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision: str | None = "0017"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_pending",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_pending")),
    )


def downgrade() -> None:
    waiting = op.get_bind().execute(sa.text("SELECT count(*) FROM audit_pending")).scalar_one()
    if waiting:
        raise RuntimeError(
            f"{waiting} audit entries still wait for the chain; run `frankly audit verify` "
            "(it chains them) before downgrading"
        )
    op.drop_table("audit_pending")
