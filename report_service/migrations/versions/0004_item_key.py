"""A review item is one stamped message: key ``(commitment, sender_id, conversation_id)``.

Before this revision ``review_items.commitment`` was unique, so every report citing a
commitment merged into one item, whoever had stamped it and in whichever conversation:
a message re-sent unchanged by someone else (same franking key and payload, so the same
commitment) landed on the first reporter's item, with that item's sender and decision
(docs/protocol.md, "What makes a review item"). This revision:

1. replaces the unique commitment by a unique ``(commitment, sender_id,
   conversation_id)`` and adds ``review_items.lead_flag`` (indexed);
2. splits every existing item whose reports cite its commitment from more than one
   stamped sender or conversation. The data to do so is in the clear:
   ``report_messages`` holds each verified message's sender, conversation, commitment and
   ``reported`` flag, and ``report_items`` which reports an item holds. For each item, a
   report belongs to every key ``(commitment, sender, conversation)`` among its
   *reported* messages with the item's commitment:

   - the item keeps its own key (the sender and conversation it has always shown, taken
     from its first report), its decisions, lease and audit history, and the reports that
     cite that key;
   - each other key becomes a new ``open`` item with the reports that cite it (a report
     citing two keys is linked to both), its first report's reason, its distinct reporter
     count, ``lead_flag = split_from_merged_item``, in the child-safety queue if the
     original item was a child-safety item (the flag never goes back, and the bank
     severity is a property of the committed payload, which every key shares), else in
     the general queue. No decision is copied: that sender was never reviewed;
   - the original item's reporter count and priority are recomputed from the reports it
     keeps, and if it was ever decided it gets ``lead_flag = decided_on_merged_reports``:
     its decision stands (the platform may have acted on it, and it names the sender
     the moderator was shown, the one that sender's copy was reported for), but it was
     taken with other copies' reports merged in, so a lead should look at it and reopen
     it if needed (``POST /v1/review/items/{id}/reopen``, audited). ``GET
     /v1/review/flagged`` lists both kinds for a lead.

   A report linked to an item whose reported messages do not cite the item's commitment
   cannot be attributed (intake never does this); it stays on the item, which is flagged
   ``unattributed_reports``, so nothing doubtful is kept silently.
   Nothing is written to the audit chain: the chain is hashed by the review package, which
   a migration must not import; the flags are the record.

On SQLite the unique constraint can only be dropped by recreating ``review_items``, and
``PRAGMA foreign_keys`` (on for every connection, see ``storage/engine.py``) cannot be
switched off inside the migration's transaction, so dropping the old table would cascade
into ``report_items``, ``review_leases`` and ``review_decisions``. The rows of every table
that depends on ``review_items`` are therefore copied to temporary tables first and put
back after the table is rebuilt, all in the one transaction.

Downgrade restores the unique commitment only when no two items share a commitment, and
refuses otherwise: merging stamped messages again would shift blame.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: tuple[str, ...] | None = None
depends_on: tuple[str, ...] | None = None

FLAG_DECIDED_ON_MERGED = "decided_on_merged_reports"
FLAG_SPLIT_FROM_MERGED = "split_from_merged_item"
FLAG_UNATTRIBUTED = "unattributed_reports"

# report_service/priority.py as of this revision, frozen here so that the migration does
# not change when the live formula does.
_REASON_SEVERITY = {
    "child_safety": 100,
    "terrorism": 80,
    "ncii": 80,
    "self_harm": 70,
    "violence": 60,
    "hate": 40,
    "harassment": 40,
    "scam": 30,
    "spam": 10,
    "other": 10,
}

OLD_UNIQUE = "uq_review_items_commitment"
NEW_UNIQUE = "uq_review_items_commitment_sender_id_conversation_id"
FLAG_INDEX = "ix_review_items_lead_flag"

Key = tuple[str, str]  # (sender_id, conversation_id); the commitment is the item's


def _priority(reason: str, max_bank_severity: int, reporter_count: int) -> int:
    bank = max(0, min(max_bank_severity, 100))
    reporters = min(max(reporter_count, 1), 10)
    return _REASON_SEVERITY.get(reason, 10) + 2 * bank + 5 * reporters


# A full Table (not sa.table) so that an insert reports the new id on both dialects.
items = sa.Table(
    "review_items",
    sa.MetaData(),
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("commitment", sa.String()),
    sa.Column("conversation_id", sa.String()),
    sa.Column("sender_id", sa.String()),
    sa.Column("reason", sa.String()),
    sa.Column("reporter_count", sa.Integer()),
    sa.Column("max_bank_severity", sa.Integer()),
    sa.Column("child_safety", sa.Boolean()),
    sa.Column("queue", sa.String()),
    sa.Column("priority", sa.Integer()),
    sa.Column("status", sa.String()),
    sa.Column("outcome", sa.String()),
    sa.Column("created_at", sa.BigInteger()),
    sa.Column("updated_at", sa.BigInteger()),
    sa.Column("lead_flag", sa.String()),
)
report_items = sa.table(
    "report_items", sa.column("report_id", sa.String()), sa.column("item_id", sa.Integer())
)
reports = sa.table(
    "reports",
    sa.column("report_id", sa.String()),
    sa.column("reporter_id", sa.String()),
    sa.column("reason", sa.String()),
    sa.column("received_at", sa.BigInteger()),
)
messages = sa.table(
    "report_messages",
    sa.column("report_id", sa.String()),
    sa.column("sender_id", sa.String()),
    sa.column("conversation_id", sa.String()),
    sa.column("commitment", sa.String()),
    sa.column("reported", sa.Boolean()),
)
decisions = sa.table("review_decisions", sa.column("item_id", sa.Integer()))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_swap_key()
    else:
        op.add_column("review_items", sa.Column("lead_flag", sa.String(length=64), nullable=True))
        op.create_index(FLAG_INDEX, "review_items", ["lead_flag"], unique=False)
        op.drop_constraint(OLD_UNIQUE, "review_items", type_="unique")
        op.create_unique_constraint(
            NEW_UNIQUE, "review_items", ["commitment", "sender_id", "conversation_id"]
        )
    _split_merged_items(op.get_bind())


def downgrade() -> None:
    bind = op.get_bind()
    shared = bind.execute(
        sa.select(items.c.commitment)
        .group_by(items.c.commitment)
        .having(sa.func.count() > 1)
        .limit(1)
    ).first()
    if shared is not None:
        raise RuntimeError(
            "cannot downgrade below 0004: several review items share a commitment "
            "(different stamped senders or conversations); merging them would shift blame"
        )
    if bind.dialect.name == "sqlite":
        _sqlite_rebuild(downgrade=True)
    else:
        op.drop_constraint(NEW_UNIQUE, "review_items", type_="unique")
        op.create_unique_constraint(OLD_UNIQUE, "review_items", ["commitment"])
        op.drop_index(FLAG_INDEX, table_name="review_items")
        op.drop_column("review_items", "lead_flag")


# ------------------------------------------------------------------------------ SQLite


def _dependents(bind: sa.Connection, table: str) -> list[str]:
    """Every table that references ``table`` by a foreign key, directly or through
    another one, each after the tables it references (an insert order)."""
    inspector = sa.inspect(bind)
    parents: dict[str, set[str]] = {
        name: {fk["referred_table"] for fk in inspector.get_foreign_keys(name)}
        for name in inspector.get_table_names()
    }
    found: set[str] = set()
    frontier = {table}
    while frontier:
        frontier = {n for n, refs in parents.items() if refs & frontier and n not in found}
        frontier.discard(table)
        found |= frontier
    order: list[str] = []
    while len(order) < len(found):
        ready = sorted(n for n in found - set(order) if not (parents[n] & found) - set(order) - {n})
        if not ready:  # a foreign-key cycle: no insert order exists
            raise RuntimeError(f"cannot order the tables that depend on {table}")
        order += ready
    return order


def _sqlite_rebuild(*, downgrade: bool) -> None:
    bind = op.get_bind()
    kept = _dependents(bind, "review_items")
    # Table names come from the schema itself (the inspector), never from data.
    quote = bind.dialect.identifier_preparer.quote
    for name in kept:
        op.execute(f"CREATE TEMP TABLE {quote('keep_0004_' + name)} AS SELECT * FROM {quote(name)}")  # noqa: S608
    for name in reversed(kept):
        op.execute(f"DELETE FROM {quote(name)}")  # noqa: S608
    with op.batch_alter_table("review_items", recreate="always") as batch:
        if downgrade:
            batch.drop_constraint(NEW_UNIQUE, type_="unique")
            batch.create_unique_constraint(OLD_UNIQUE, ["commitment"])
            batch.drop_index(FLAG_INDEX)
            batch.drop_column("lead_flag")
        else:
            batch.add_column(sa.Column("lead_flag", sa.String(length=64), nullable=True))
            batch.drop_constraint(OLD_UNIQUE, type_="unique")
            batch.create_unique_constraint(
                NEW_UNIQUE, ["commitment", "sender_id", "conversation_id"]
            )
            batch.create_index(FLAG_INDEX, ["lead_flag"], unique=False)
    for name in kept:
        op.execute(f"INSERT INTO {quote(name)} SELECT * FROM {quote('keep_0004_' + name)}")  # noqa: S608
        op.execute(f"DROP TABLE {quote('keep_0004_' + name)}")


def _sqlite_swap_key() -> None:
    _sqlite_rebuild(downgrade=False)


# ------------------------------------------------------------------------------ the split


def _split_merged_items(bind: sa.Connection) -> None:
    """Split every item whose reports cite its commitment from several stamped senders or
    conversations (see the module docstring)."""
    # (item, report) -> the keys its reported messages with the item's commitment cite
    cited: dict[int, dict[str, set[Key]]] = defaultdict(lambda: defaultdict(set))
    rows = bind.execute(
        sa.select(
            report_items.c.item_id,
            report_items.c.report_id,
            messages.c.sender_id,
            messages.c.conversation_id,
        )
        .select_from(report_items)
        .join(items, items.c.id == report_items.c.item_id)
        .outerjoin(
            messages,
            sa.and_(
                messages.c.report_id == report_items.c.report_id,
                messages.c.commitment == items.c.commitment,
                messages.c.reported == sa.true(),
            ),
        )
    )
    for item_id, report_id, sender, conversation in rows:
        keys = cited[item_id][report_id]
        if sender is not None:
            keys.add((sender, conversation))
    for item_id, by_report in sorted(cited.items()):
        own = bind.execute(sa.select(items).where(items.c.id == item_id)).mappings().one()
        own_key = (own["sender_id"], own["conversation_id"])
        if all(keys == {own_key} for keys in by_report.values()):
            continue
        _split_one(bind, dict(own), own_key, by_report)


def _split_one(
    bind: sa.Connection, own: dict[str, object], own_key: Key, by_report: dict[str, set[Key]]
) -> None:
    item_id = int(str(own["id"]))
    info = {
        r.report_id: r
        for r in bind.execute(
            sa.select(
                reports.c.report_id, reports.c.reporter_id, reports.c.reason, reports.c.received_at
            ).where(reports.c.report_id.in_(list(by_report)))
        )
    }
    groups: dict[Key, list[str]] = defaultdict(list)
    unattributable = False
    for report_id, keys in sorted(by_report.items()):
        if not keys:
            unattributable = True
            groups[own_key].append(report_id)  # stays where it was; the item gets flagged
        for key in keys:
            groups[key].append(report_id)
    child_safety = bool(own["child_safety"])
    severity = int(str(own["max_bank_severity"]))
    for key, report_ids in sorted(groups.items()):
        if key == own_key:
            continue
        ordered = sorted(report_ids, key=lambda r: (info[r].received_at, r))
        first = info[ordered[0]]
        count = len({info[r].reporter_id for r in report_ids})
        inserted = bind.execute(
            items.insert().values(
                commitment=own["commitment"],
                sender_id=key[0],
                conversation_id=key[1],
                reason=first.reason,
                reporter_count=count,
                max_bank_severity=severity,
                child_safety=child_safety,
                queue="child_safety" if child_safety else "general",
                priority=_priority(first.reason, severity, count),
                status="open",
                outcome=None,
                created_at=first.received_at,
                updated_at=max(info[r].received_at for r in report_ids),
                lead_flag=FLAG_SPLIT_FROM_MERGED,
            )
        )
        primary_key = inserted.inserted_primary_key
        if primary_key is None:  # pragma: no cover - both dialects return it
            raise RuntimeError("the new review item has no id")
        new_id = primary_key[0]
        for report_id in report_ids:
            bind.execute(report_items.insert().values(report_id=report_id, item_id=new_id))
    kept = groups.get(own_key, [])
    moved = sorted(set(by_report) - set(kept))
    if moved:
        bind.execute(
            report_items.delete()
            .where(report_items.c.item_id == item_id)
            .where(report_items.c.report_id.in_(moved))
        )
    count = len({info[r].reporter_id for r in kept})
    was_decided = own["status"] == "decided" or (
        bind.execute(
            sa.select(sa.func.count()).select_from(decisions).where(decisions.c.item_id == item_id)
        ).scalar_one()
        > 0
    )
    values: dict[str, object] = {
        "reporter_count": max(count, 1),
        "priority": _priority(str(own["reason"]), severity, count),
    }
    if unattributable:
        values["lead_flag"] = FLAG_UNATTRIBUTED
    elif was_decided:
        values["lead_flag"] = FLAG_DECIDED_ON_MERGED
    bind.execute(items.update().where(items.c.id == item_id).values(**values))
