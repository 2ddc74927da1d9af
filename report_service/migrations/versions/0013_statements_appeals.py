"""DSA statements of reasons and appeals: ``dsa_statements`` and ``appeals``.

Two new tables, nothing existing changes: decisions recorded before this revision get no
statement (they predate the obligation being met here; ``frankly dsa show`` lists what
exists). Downgrade drops both tables (appeals first, it points at statements).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision: str | None = "0012"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "dsa_statements",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("puid", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(128), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=True),
        sa.Column("message_at", sa.BigInteger(), nullable=True),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("db_uuid", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("submitted_at", sa.BigInteger(), nullable=True),
        sa.Column("corrects_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_dsa_statements_decision_id", "dsa_statements", ["decision_id"])
    op.create_index("ix_dsa_statements_item_id", "dsa_statements", ["item_id"])
    op.create_index("ix_dsa_statements_subject_id", "dsa_statements", ["subject_id"])
    op.create_index("ix_dsa_statements_created_at", "dsa_statements", ["created_at"])
    op.create_index("ix_dsa_statements_state_next", "dsa_statements", ["state", "next_attempt_at"])
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("statement_id", sa.Integer(), sa.ForeignKey("dsa_statements.id"), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("appellant", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("open_key", sa.Integer(), nullable=True, unique=True),
        sa.Column("decider", sa.String(64), nullable=False),
        sa.Column("child_safety", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.Column("new_decision_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_appeals_statement_id", "appeals", ["statement_id"])
    op.create_index("ix_appeals_item_id", "appeals", ["item_id"])
    op.create_index("ix_appeals_appellant", "appeals", ["appellant"])
    op.create_index("ix_appeals_status", "appeals", ["status"])


def downgrade() -> None:
    op.drop_table("appeals")
    op.drop_table("dsa_statements")
