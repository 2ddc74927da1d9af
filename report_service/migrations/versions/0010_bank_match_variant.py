"""Bank matches name the query variant that matched: ``bank_matches.variant``.

The service matches a reported picture through the same query variants as the device
(:mod:`hashes.variants`: ``original``, the rotations and mirrors such as ``rotate90`` or
``flipy``, ``trimmed`` and ``trimmed+<dihedral>`` when a flat border was cut off);
``report_service.banks.BankHit.variant`` names the one that matched. From here on intake
stores it, so a moderator sees that a match was on a mirrored, rotated or trimmed copy.

``variant`` is nullable and existing rows stay NULL, which means ``original`` (the review
API shows NULL as ``"original"``). Nothing recorded which variant produced a row written
before this revision; a service that already matched variants may have written some from
a mirrored or trimmed copy, and those read as ``original`` too (there is nothing to
backfill them from: re-hashing would need the evidence key of every report).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None


def upgrade() -> None:
    op.add_column("bank_matches", sa.Column("variant", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite >= 3.35, PostgreSQL): batch mode would rebuild
    # ``bank_matches`` by DROP TABLE, never done here while foreign keys are enforced.
    op.execute("ALTER TABLE bank_matches DROP COLUMN variant")
