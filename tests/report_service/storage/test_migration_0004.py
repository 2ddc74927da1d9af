"""Migration ``0004`` on SQLite and PostgreSQL: review items keyed by stamped message.

A database built at revision ``0003`` holds items that merged reports by commitment
alone: the relay attack (mallory's copy of alice's message reported first, then alice's
own) and the re-send attack (bob's copy to carol re-opening alice's cleared item). The
upgrade splits them by ``(commitment, sender, conversation)``, keeps every decision, lease
and link (on SQLite the table is rebuilt, and ``foreign_keys`` is on: nothing may cascade
away), and flags the decided ones for a lead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, MetaData, Table
from sqlalchemy.exc import IntegrityError

from report_service.storage.migrate import (
    alembic_config,
    current_revisions,
    head_revisions,
    upgrade_database,
    upgrade_engine,
)
from report_service.storage.models import (
    FLAG_DECIDED_ON_MERGED,
    FLAG_SPLIT_FROM_MERGED,
    FLAG_UNATTRIBUTED,
)
from tests.report_service.review.review_support import SyncClient, auth, make_app, make_env
from tests.report_service.storage.migration_support import downgrade, engine_at, rows

C_RELAYED = "aa" * 32  # alice's group message, relayed by mallory to dave
C_RESENT = "bb" * 32  # alice's message to bob, re-sent by bob to carol
C_PLAIN = "cc" * 32  # an ordinary item, one stamped message
C_OPEN = "dd" * 32  # merged but never decided
C_ODD = "ee" * 32  # a report linked to an item it does not cite


class Db:
    """Rows written straight into a database at revision 0003."""

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        meta = MetaData()
        meta.reflect(engine)
        self.t: dict[str, Table] = dict(meta.tables)

    def insert(self, table: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.t[table].insert().values(**values))

    def report(
        self,
        rid: str,
        reporter: str,
        at: int,
        reported: list[tuple[str, str, str]],
        reason: str = "harassment",
    ) -> None:
        """A report citing ``reported`` messages ``(commitment, sender, conversation)``."""
        self.insert(
            "reports",
            report_id=rid,
            reporter_id=reporter,
            reason=reason,
            conversation_id=reported[0][2],
            status="received",
            first_response="{}",
            message_count=len(reported),
            attachment_count=0,
            received_at=at,
        )
        for pos, (commitment, sender, conversation) in enumerate(reported):
            self.insert(
                "report_messages",
                report_id=rid,
                position=pos,
                sender_id=sender,
                recipient_id=reporter,
                conversation_id=conversation,
                timestamp_ms=at - 1,
                commitment=commitment,
                key_id="k",
                payload_id=f"{rid}-{pos}",
                reported=True,
            )

    def item(
        self, item_id: int | None, commitment: str, sender: str, conversation: str, **kw: Any
    ) -> None:
        """Item ``item_id``, which must be the id the database assigns next (explicit ids
        would leave PostgreSQL's sequence behind the rows); ``None``: whichever it is."""
        values: dict[str, Any] = {
            "commitment": commitment,
            "sender_id": sender,
            "conversation_id": conversation,
            "reason": "harassment",
            "reporter_count": 1,
            "max_bank_severity": 0,
            "child_safety": False,
            "queue": "general",
            "priority": 45,
            "status": "open",
            "outcome": None,
            "created_at": 1,
            "updated_at": 1,
        }
        values.update(kw)
        with self.engine.begin() as conn:
            got = conn.execute(self.t["review_items"].insert().values(**values))
            assert got.inserted_primary_key is not None
            assert item_id is None or got.inserted_primary_key[0] == item_id

    def link(self, rid: str, item_id: int) -> None:
        self.insert("report_items", report_id=rid, item_id=item_id)

    def decide(self, item_id: int, sender: str, decision: str) -> None:
        self.insert(
            "review_decisions",
            item_id=item_id,
            sender_id=sender,
            moderator="mia",
            decision=decision,
            policy="harassment/1.2",
            note="",
            banked=0,
            decided_at=5,
        )

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return rows(self.engine, sql)


@pytest.fixture
def db(database_url: str) -> Iterator[Db]:
    with engine_at(database_url, "0003") as engine:
        d = Db(database_url, engine)
        for name in ("bob", "carol", "dave", "erin", "mallory"):
            d.insert("users", id=name, token_hash=name.encode().ljust(32, b"\0"), created_at=1)
        yield d


def _seed(db: Db) -> None:
    # (a) relay: dave reported mallory's copy first, bob alice's own; decided suspend,
    # which landed on mallory; erin's report cites both copies (both were in her group).
    db.report("r-dave", "dave", 10, [(C_RELAYED, "mallory", "mallory-dave")])
    db.report("r-bob", "bob", 20, [(C_RELAYED, "alice", "group-1")], reason="hate")
    db.report(
        "r-erin", "erin", 30, [(C_RELAYED, "alice", "group-1"), (C_RELAYED, "mallory", "group-1")]
    )
    db.item(
        1,
        C_RELAYED,
        "mallory",
        "mallory-dave",
        status="decided",
        outcome="suspend_sender",
        reporter_count=3,
        created_at=10,
        updated_at=30,
    )
    for rid in ("r-dave", "r-bob", "r-erin"):
        db.link(rid, 1)
    db.decide(1, "mallory", "suspend_sender")
    # (b) re-send: bob's report of alice's message, cleared; carol's report of bob's copy
    # re-opened it and the item is claimed again.
    db.report("r-bob2", "bob", 40, [(C_RESENT, "alice", "alice-bob")])
    db.report("r-carol", "carol", 50, [(C_RESENT, "bob", "bob-carol")])
    db.item(
        2,
        C_RESENT,
        "alice",
        "alice-bob",
        status="claimed",
        reporter_count=2,
        child_safety=True,
        queue="child_safety",
        created_at=40,
        updated_at=50,
    )
    db.link("r-bob2", 2)
    db.link("r-carol", 2)
    db.decide(2, "alice", "no_violation")
    db.insert("review_leases", item_id=2, moderator="mia", claimed_at=60, expires_at=10**13)
    # an ordinary item; a merged but undecided item; an item with an unattributable report
    db.report("r-plain", "bob", 60, [(C_PLAIN, "alice", "alice-bob")])
    db.item(3, C_PLAIN, "alice", "alice-bob", created_at=60, updated_at=60)
    db.link("r-plain", 3)
    db.report("r-open1", "bob", 70, [(C_OPEN, "alice", "alice-bob")])
    db.report("r-open2", "dave", 80, [(C_OPEN, "mallory", "mallory-dave")])
    db.item(4, C_OPEN, "alice", "alice-bob", reporter_count=2, created_at=70, updated_at=80)
    db.link("r-open1", 4)
    db.link("r-open2", 4)
    db.report("r-odd", "carol", 90, [(C_PLAIN, "alice", "alice-carol")])
    db.item(5, C_ODD, "alice", "alice-carol", created_at=90, updated_at=90)
    db.link("r-odd", 5)


ITEM_SQL = (
    "SELECT id, commitment, sender_id, conversation_id, status, outcome, queue, child_safety,"
    " reporter_count, reason, priority, lead_flag FROM review_items ORDER BY id"
)


def test_0004_splits_merged_items_and_flags_the_decided_ones(db: Db) -> None:
    _seed(db)
    audit_before = db.rows("SELECT seq, entry_hash FROM audit_log ORDER BY seq")
    upgrade_engine(db.engine)
    assert current_revisions(db.engine) == head_revisions()

    items = {r[0]: r[1:] for r in db.rows(ITEM_SQL)}
    decided, general, cs = "decided", "general", "child_safety"
    assert items == {
        # mallory's copy keeps the item, its decision, and the reports that cite it
        1: (C_RELAYED, "mallory", "mallory-dave", decided, "suspend_sender", general, False,
            1, "harassment", 40 + 5, FLAG_DECIDED_ON_MERGED),
        2: (C_RESENT, "alice", "alice-bob", "claimed", None, cs, True,
            1, "harassment", 40 + 5, FLAG_DECIDED_ON_MERGED),
        3: (C_PLAIN, "alice", "alice-bob", "open", None, general, False,
            1, "harassment", 45, None),
        4: (C_OPEN, "alice", "alice-bob", "open", None, general, False,
            1, "harassment", 45, None),
        5: (C_ODD, "alice", "alice-carol", "open", None, general, False,
            1, "harassment", 45, FLAG_UNATTRIBUTED),
        # split off: open, never decided, flagged; the first report's reason
        6: (C_RELAYED, "alice", "group-1", "open", None, general, False,
            2, "hate", 40 + 10, FLAG_SPLIT_FROM_MERGED),
        7: (C_RELAYED, "mallory", "group-1", "open", None, general, False,
            1, "harassment", 45, FLAG_SPLIT_FROM_MERGED),
        8: (C_RESENT, "bob", "bob-carol", "open", None, cs, True,
            1, "harassment", 45, FLAG_SPLIT_FROM_MERGED),
        9: (C_OPEN, "mallory", "mallory-dave", "open", None, general, False,
            1, "harassment", 45, FLAG_SPLIT_FROM_MERGED),
    }  # fmt: skip
    links = db.rows("SELECT report_id, item_id FROM report_items ORDER BY report_id, item_id")
    assert links == [
        ("r-bob", 6),
        ("r-bob2", 2),
        ("r-carol", 8),
        ("r-dave", 1),
        ("r-erin", 6),
        ("r-erin", 7),
        ("r-odd", 5),
        ("r-open1", 4),
        ("r-open2", 9),
        ("r-plain", 3),
    ]
    # Nothing that hangs off review_items was lost to a cascade (SQLite rebuilds it).
    assert db.rows("SELECT item_id, sender_id, decision FROM review_decisions ORDER BY id") == [
        (1, "mallory", "suspend_sender"),
        (2, "alice", "no_violation"),
    ]
    assert db.rows("SELECT item_id, moderator FROM review_leases") == [(2, "mia")]
    assert db.rows("SELECT seq, entry_hash FROM audit_log ORDER BY seq") == audit_before

    # A lead finds the flagged general items, the child-safety team theirs.
    env = make_env(db.url)
    try:
        client = SyncClient(make_app(env.service))

        def flagged(role: str) -> list[tuple[int, str]]:
            r = client.get("/v1/review/flagged", headers=auth(env.tokens[role]))
            assert r.status_code == 200, r.text
            return [(i["id"], i["lead_flag"]) for i in r.json()["items"]]

        assert flagged("lead") == [
            (1, FLAG_DECIDED_ON_MERGED),
            (5, FLAG_UNATTRIBUTED),
            (6, FLAG_SPLIT_FROM_MERGED),
            (7, FLAG_SPLIT_FROM_MERGED),
            (9, FLAG_SPLIT_FROM_MERGED),
        ]
        assert flagged("child_safety") == [(2, FLAG_DECIDED_ON_MERGED), (8, FLAG_SPLIT_FROM_MERGED)]
        r = client.get("/v1/review/flagged", headers=auth(env.tokens["moderator"]))
        assert r.status_code == 403
        detail = client.get("/v1/review/items/6", headers=auth(env.tokens["lead"])).json()
        assert detail["item"]["lead_flag"] == FLAG_SPLIT_FROM_MERGED
        assert detail["verified"]["message"]["sender_id"] == "alice"
        assert [c["reporter_id"] for c in detail["reporter_claims"]] == ["bob", "erin"]
    finally:
        env.engine.dispose()

    # The new key holds: another copy of a commitment is a new item, a twin is refused.
    db.item(10, C_PLAIN, "mallory", "alice-bob")
    with pytest.raises(IntegrityError):
        db.item(11, C_PLAIN, "mallory", "alice-bob")


def test_0004_leaves_unmerged_items_alone_and_downgrades_only_without_shared_commitments(
    db: Db, database_url: str
) -> None:
    db.report("r-plain", "bob", 60, [(C_PLAIN, "alice", "alice-bob")])
    db.item(1, C_PLAIN, "alice", "alice-bob", created_at=60, updated_at=60, priority=99)
    db.link("r-plain", 1)
    upgrade_database(database_url)
    assert db.rows(ITEM_SQL) == [
        (1, C_PLAIN, "alice", "alice-bob", "open", None, "general", False, 1, "harassment", 99,
         None)
    ]  # fmt: skip

    downgrade(db.engine, "0003", check_sqlite_foreign_keys=False)
    assert current_revisions(db.engine) == {"0003"}
    assert db.rows("SELECT item_id FROM report_items") == [(1,)]
    with pytest.raises(IntegrityError):  # commitment alone is unique again
        db.item(None, C_PLAIN, "mallory", "elsewhere")

    upgrade_database(database_url)
    db.item(None, C_PLAIN, "mallory", "elsewhere")
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        with pytest.raises(RuntimeError, match="shift blame"):
            command.downgrade(cfg, "0003")
        conn.rollback()
    # refused, and rolled back: both items are still there
    assert [r[2] for r in db.rows(ITEM_SQL)] == ["alice", "mallory"]


def test_0004_upgrades_an_empty_database(database_url: str) -> None:
    with engine_at(database_url, "0003") as engine:
        upgrade_database(database_url)
        assert current_revisions(engine) == head_revisions()
