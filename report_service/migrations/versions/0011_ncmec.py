"""CyberTipline reports and their files: ``ncmec_reports``, ``ncmec_files``.

Both start empty; nothing existing changes. See
:mod:`report_service.escalation.ncmec.models` for the state machine they hold.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "ncmec_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("incident_type", sa.String(length=80), nullable=False),
        sa.Column("incident_at", sa.BigInteger(), nullable=False),
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("screen_name", sa.String(length=128), nullable=True),
        sa.Column("high_priority", sa.Text(), nullable=True),
        sa.Column("prepared_by", sa.String(length=64), nullable=False),
        sa.Column("prepared_at", sa.BigInteger(), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=True),
        sa.Column("approved_at", sa.BigInteger(), nullable=True),
        sa.Column("ncmec_report_id", sa.BigInteger(), nullable=True),
        sa.Column("submit_started_at", sa.BigInteger(), nullable=True),
        sa.Column("finish_started_at", sa.BigInteger(), nullable=True),
        sa.Column("ambiguous_submits", sa.Integer(), nullable=False),
        sa.Column("retracted_ids", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["review_items.id"],
            name=op.f("fk_ncmec_reports_item_id_review_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ncmec_reports")),
        sa.UniqueConstraint("item_id", name=op.f("uq_ncmec_reports_item_id")),
    )
    op.create_index(op.f("ix_ncmec_reports_status"), "ncmec_reports", ["status"])
    op.create_index(op.f("ix_ncmec_reports_sender_id"), "ncmec_reports", ["sender_id"])
    op.create_table(
        "ncmec_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_row", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("source_report_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mime", sa.String(length=127), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("classification", sa.String(length=2), nullable=True),
        sa.Column("viewed_by_esp", sa.Boolean(), nullable=False),
        sa.Column("publicly_available", sa.Boolean(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("ncmec_file_id", sa.String(length=128), nullable=True),
        sa.Column("uploaded_at", sa.BigInteger(), nullable=True),
        sa.Column("details_sent_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_row"],
            ["ncmec_reports.id"],
            name=op.f("fk_ncmec_files_report_row_ncmec_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ncmec_files")),
        sa.UniqueConstraint(
            "report_row", "position", name=op.f("uq_ncmec_files_report_row_position")
        ),
    )
    op.create_index(op.f("ix_ncmec_files_report_row"), "ncmec_files", ["report_row"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ncmec_files_report_row"), table_name="ncmec_files")
    op.drop_table("ncmec_files")
    op.drop_index(op.f("ix_ncmec_reports_sender_id"), table_name="ncmec_reports")
    op.drop_index(op.f("ix_ncmec_reports_status"), table_name="ncmec_reports")
    op.drop_table("ncmec_reports")
