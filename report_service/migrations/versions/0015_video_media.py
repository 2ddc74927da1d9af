"""Video attachments: ``media_videos`` and ``bank_matches.match_percent``.

The service re-hashes verified video attachments (vPDQ, MD5, SHA-256) and keeps a few
keyframes as encrypted evidence. ``media_videos`` holds one row per video of a report
(its hashes as JSON, duration, keyframe count, or the decode error); existing reports
have no videos, so nothing is backfilled. ``bank_matches.match_percent`` is the share of
a video's frames that matched a banked video (NULL for every picture match, old and new).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision: str | None = "0014"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "media_videos",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("hash_json", sa.Text(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("keyframe_count", sa.Integer(), nullable=False),
        sa.Column("decode_error", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.report_id"],
            name=op.f("fk_media_videos_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_videos")),
        sa.UniqueConstraint("report_id", "sha256", name=op.f("uq_media_videos_report_id_sha256")),
    )
    op.create_index(op.f("ix_media_videos_report_id"), "media_videos", ["report_id"])
    op.create_index(op.f("ix_media_videos_sha256"), "media_videos", ["sha256"])
    op.add_column("bank_matches", sa.Column("match_percent", sa.Float(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (no batch rebuild of a table other rows point to).
    op.execute("ALTER TABLE bank_matches DROP COLUMN match_percent")
    op.drop_index(op.f("ix_media_videos_sha256"), table_name="media_videos")
    op.drop_index(op.f("ix_media_videos_report_id"), table_name="media_videos")
    op.drop_table("media_videos")
