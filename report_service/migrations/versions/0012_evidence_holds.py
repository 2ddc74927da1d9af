"""Preservation holds on report evidence: the ``preservation_holds`` table.

One row per held report (a hold placed on a review item becomes one row per report of
the item, each naming the item). A hold is active while ``released_at`` is NULL and
``expires_at`` is NULL or in the future; while one is active the report's evidence is
never destroyed (see :mod:`report_service.escalation.preservation`). ``(report_id,
source, reference)`` is unique so that an automated source (an NCMEC submission with its
CyberTipline report id) places its hold once however often it retries.

Existing data: nothing is backfilled. Evidence that earlier decisions escalated to legal
or child safety keeps the decision-based legal hold of
:mod:`report_service.review.lifecycle.retention` (purge never destroys it); there was no record of
outside preservation requests to carry over. The downgrade drops the table, and with it
every hold: run it only once no hold needs keeping (``frankly evidence holds``).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "preservation_holds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(length=64), nullable=False),
        sa.Column("placed_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("minimum_until", sa.BigInteger(), nullable=True),
        sa.Column("released_at", sa.BigInteger(), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.Column("release_forced", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.report_id"],
            name=op.f("fk_preservation_holds_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_preservation_holds_item_id_review_items"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preservation_holds")),
        sa.UniqueConstraint(
            "report_id",
            "source",
            "reference",
            name=op.f("uq_preservation_holds_report_id_source_reference"),
        ),
    )
    op.create_index(
        op.f("ix_preservation_holds_report_id"), "preservation_holds", ["report_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_preservation_holds_report_id"), table_name="preservation_holds")
    op.drop_table("preservation_holds")
