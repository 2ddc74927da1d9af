"""The moderator console's sessions and wellness preferences.

``console_sessions``: one row per signed-in browser (the SHA-256 of its cookie, the
moderator and the hash of its token at sign-in, so that rotating the token ends the
session, a CSRF synchronizer token, creation and last-seen times for the idle timeout,
and when the moderator started looking at the child-safety queue for the break
reminder). ``console_preferences``: per-moderator blur level, grayscale and break
reminder. ``console_signin_links``: one-time sign-in links an admin made (the SHA-256 of
the code, for whom, by whom, when, until when, when used). All start empty; nothing
existing changes.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("moderator", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_seen_at", sa.BigInteger(), nullable=False),
        sa.Column("child_safety_since", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_console_sessions")),
    )
    op.create_index(
        op.f("ix_console_sessions_moderator"), "console_sessions", ["moderator"], unique=False
    )
    op.create_index(
        op.f("ix_console_sessions_last_seen_at"),
        "console_sessions",
        ["last_seen_at"],
        unique=False,
    )
    op.create_table(
        "console_preferences",
        sa.Column("moderator", sa.String(length=64), nullable=False),
        sa.Column("blur_level", sa.Integer(), nullable=False),
        sa.Column("grayscale", sa.Boolean(), nullable=False),
        sa.Column("break_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("moderator", name=op.f("pk_console_preferences")),
    )

    op.create_table(
        "console_signin_links",
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("moderator", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_console_signin_links")),
    )
    op.create_index(
        op.f("ix_console_signin_links_moderator"),
        "console_signin_links",
        ["moderator"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_console_signin_links_moderator"), table_name="console_signin_links")
    op.drop_table("console_signin_links")
    op.drop_table("console_preferences")
    op.drop_index(op.f("ix_console_sessions_last_seen_at"), table_name="console_sessions")
    op.drop_index(op.f("ix_console_sessions_moderator"), table_name="console_sessions")
    op.drop_table("console_sessions")
