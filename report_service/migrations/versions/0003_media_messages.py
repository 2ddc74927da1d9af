"""Media linked to the reported message that committed it: ``media_messages``.

A ``media`` row belongs to a report, but a report may be about several reported
messages (several review items). From this revision on, intake records which reported
message(s), by commitment, committed each stored medium, and a review item shows, serves
and banks only the media linked to its own commitment.

Backfill (conservative). The link was never stored before, and the payloads that say
which message committed which digest are encrypted evidence that a migration cannot
read. So existing media are linked only when their report has exactly one reported
message: then every medium of the report was committed by that message (intake checks
each included attachment against the reported messages' digests). The media of older
reports about two or more reported messages are left **unlinked**, and so are no longer
shown, served or banked by any of those reports' items: showing them could put one
message's attachments (possibly a child-safety image) on another message's item.
Their rows, hashes, bank matches and encrypted evidence stay in place.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    links = op.create_table(
        "media_messages",
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["media_id"],
            ["media.id"],
            name=op.f("fk_media_messages_media_id_media"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("media_id", "commitment", name=op.f("pk_media_messages")),
    )
    op.create_index(
        op.f("ix_media_messages_commitment"), "media_messages", ["commitment"], unique=False
    )
    _backfill(links)


def _backfill(links: sa.Table) -> None:
    """Link the media of every report with exactly one reported message to it."""
    media = sa.table("media", sa.column("id", sa.Integer()), sa.column("report_id", sa.String()))
    messages = sa.table(
        "report_messages",
        sa.column("report_id", sa.String()),
        sa.column("commitment", sa.String()),
        sa.column("reported", sa.Boolean()),
    )
    single = (
        sa.select(messages.c.report_id)
        .where(messages.c.reported == sa.true())
        .group_by(messages.c.report_id)
        .having(sa.func.count(sa.distinct(messages.c.commitment)) == 1)
    )
    pairs = (
        sa.select(media.c.id, messages.c.commitment)
        .join(
            messages,
            sa.and_(messages.c.report_id == media.c.report_id, messages.c.reported == sa.true()),
        )
        .where(media.c.report_id.in_(single))
        .distinct()
    )
    op.execute(links.insert().from_select(["media_id", "commitment"], pairs))


def downgrade() -> None:
    op.drop_index(op.f("ix_media_messages_commitment"), table_name="media_messages")
    op.drop_table("media_messages")
