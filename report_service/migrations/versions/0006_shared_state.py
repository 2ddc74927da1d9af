"""State shared by every service process: ``bank_state``, ``bank_curators`` and
``rate_limits``.

``bank_state`` holds a generation counter per named piece of shared state; the hash
banks increment the ``banks`` row in every transaction that stores a list version, so
writers serialise on its row lock and readers in other processes notice a change with
one indexed read. It is seeded from the lists already held (their row count), so a
process started before the upgrade and one started after agree that something exists.

``bank_curators`` starts empty: until an operator trusts another curator key, the banks
trust the key file's curator key alone, as before.

``rate_limits`` starts empty: every caller starts with a full burst, as after a restart
of the old in-memory limiter.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    state = op.create_table(
        "bank_state",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_bank_state")),
    )
    held = op.get_bind().execute(sa.text("SELECT count(*) FROM hash_lists")).scalar_one()
    op.bulk_insert(state, [{"name": "banks", "generation": int(held)}])
    op.create_table(
        "bank_curators",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_bank_curators")),
        sa.UniqueConstraint("public_key", name=op.f("uq_bank_curators_public_key")),
    )
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tat_us", sa.BigInteger(), nullable=False),
        sa.Column("last_grant", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    op.drop_table("bank_curators")
    op.drop_table("bank_state")
