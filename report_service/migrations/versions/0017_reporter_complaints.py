"""Reporters' complaints (DSA Art. 20 for notifiers) in the ``appeals`` table.

``appeals.statement_id`` becomes nullable (a reporter's complaint about a decision, most
often ``no_violation``, has no statement of reasons), and two columns are added:
``report_id`` (the reporter's stored report id; NULL for a sender's appeal) and
``complaint_key`` (``"<decision_id>:<reporter>"`` while the complaint is undecided, NULL
after: its unique constraint allows one open complaint per reporter and decision on both
databases). Existing appeals keep their data (the new columns are NULL).

On SQLite the nullability change rebuilds ``appeals`` in batch mode; no table points to
``appeals``, so the rebuild cascades nowhere. The downgrade deletes reporters' complaints
(they cannot exist without a statement) and undoes the rest.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision: str | None = "0016"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("appeals") as batch:
        batch.alter_column("statement_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("report_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("complaint_key", sa.String(200), nullable=True))
        batch.create_unique_constraint("uq_appeals_complaint_key", ["complaint_key"])
    op.create_index("ix_appeals_report_id", "appeals", ["report_id"])


def downgrade() -> None:
    op.execute("DELETE FROM appeals WHERE statement_id IS NULL")
    op.drop_index("ix_appeals_report_id", table_name="appeals")
    with op.batch_alter_table("appeals") as batch:
        batch.drop_constraint("uq_appeals_complaint_key", type_="unique")
        batch.drop_column("complaint_key")
        batch.drop_column("report_id")
        batch.alter_column("statement_id", existing_type=sa.Integer(), nullable=False)
