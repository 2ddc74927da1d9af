"""The transparency log of hash-list versions: ``transparency_log``, ``transparency_leaves``
and ``transparency_tiles`` (issue 17, docs/transparency.md).

New tables only; nothing existing changes, so the upgrade has no data to move and the
downgrade drops the three tables (nothing points to them).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision: str | None = "0015"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "transparency_log",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("origin", sa.String(length=256), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transparency_log")),
    )
    op.create_table(
        "transparency_leaves",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("list_id", sa.String(length=255), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("logged_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_transparency_leaves")),
        sa.UniqueConstraint(
            "list_id", "version", name=op.f("uq_transparency_leaves_list_id_version")
        ),
    )
    op.create_table(
        "transparency_tiles",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tile_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "tile_index", name=op.f("pk_transparency_tiles")),
    )


def downgrade() -> None:
    op.drop_table("transparency_tiles")
    op.drop_table("transparency_leaves")
    op.drop_table("transparency_log")
