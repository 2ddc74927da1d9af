"""Claim-next reads an index, not the queue (migration ``0007``), on SQLite and PostgreSQL.

The order itself (effective priority, expired leases taken over) is checked against a
model in ``test_review_leases_model.py``; here: the plans, the stored key, revocation, and
the upgrade of existing rows.
"""

from __future__ import annotations

import re

from sqlalchemy import MetaData, select, text, update

from report_service.review.core import Actor
from report_service.review.moderators.roles import Role
from report_service.review.queue import store as queue_store
from report_service.review.queue.priority import MS_PER_POINT
from report_service.storage.engine import make_engine
from report_service.storage.migrate import upgrade_database
from report_service.storage.models import CLAIM_KEY_SQL, ReviewItem
from tests.report_service.review.review_support import T0, Env

MOD = Actor("moderator-1", Role.MODERATOR)


def _plan(env: Env, rows: int) -> list[str]:
    for i in range(rows):
        env.seed(priority=10 + i % 7 * 10, created_at=T0 - i * 1000)
    with env.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    with env.sf() as s:
        return queue_store.explain_claim(s, "general", T0)


def test_claim_probes_read_the_claim_index_and_sort_nothing(env: Env) -> None:
    """Both probes of claim-next walk ``ix_review_items_claim`` in order: no sequential
    scan of ``review_items`` and no sort (the old query sorted every claimable row)."""
    plan = _plan(env, 40)
    joined = "\n".join(plan)
    open_probe = joined.split("-- expired lease probe")[0]
    assert "ix_review_items_claim" in open_probe
    if env.url.startswith("sqlite"):
        assert "TEMP B-TREE" not in joined
        assert not re.search(r"SCAN review_items\b", joined)
    else:
        assert "Sort" not in open_probe
        assert "Seq Scan on review_items" not in open_probe


def test_claim_key_is_the_queue_order_and_follows_priority(env: Env) -> None:
    ids = [env.seed(priority=p, created_at=T0 - age).item_id for p, age in [(50, 0), (40, 10)]]
    assert str(MS_PER_POINT) in CLAIM_KEY_SQL
    with env.sf.begin() as s:
        for item in s.scalars(select(ReviewItem).where(ReviewItem.id.in_(ids))):
            assert item.claim_key == item.priority * MS_PER_POINT - item.created_at
        # Any writer of priority (intake merging a report, a requeue) moves the key too.
        s.execute(update(ReviewItem).where(ReviewItem.id == ids[1]).values(priority=99))
    with env.sf() as s:
        moved = s.get(ReviewItem, ids[1])
        assert moved is not None
        assert moved.claim_key == 99 * MS_PER_POINT - (T0 - 10)
    got = env.service.claim(MOD, "general")
    assert got.item.id == ids[1]


def test_revoking_a_moderator_reopens_its_items_which_stay_claimable(env: Env) -> None:
    item = env.seed(priority=50).item_id
    assert env.service.claim(MOD, "general").item.id == item
    env.service.revoke_moderator("test", MOD.name)
    with env.sf() as s:
        row = s.get(ReviewItem, item)
        assert row is not None
        assert row.status == "open"
        assert queue_store.get_lease(s, item) is None
    other = Actor("lead-1", Role.LEAD)
    got = env.service.claim(other, "general")
    assert got.item.id == item
    assert got.taken_over_from is None


def test_0007_computes_keys_and_reopens_claimed_items_without_a_lease(database_url: str) -> None:
    upgrade_database(database_url, "0003")
    engine = make_engine(database_url)
    meta = MetaData()
    meta.reflect(engine, only=["review_items", "review_leases"])
    items, leases = meta.tables["review_items"], meta.tables["review_leases"]

    def item(commitment: str, status: str, priority: int, created_at: int) -> int:
        result = conn.execute(
            items.insert().values(
                commitment=commitment,
                conversation_id="c",
                sender_id="s",
                reason="harassment",
                reporter_count=1,
                max_bank_severity=0,
                child_safety=False,
                queue="general",
                priority=priority,
                status=status,
                outcome=None,
                created_at=created_at,
                updated_at=created_at,
            )
        )
        pk = result.inserted_primary_key
        assert pk is not None
        return int(pk[0])

    try:
        with engine.begin() as conn:
            open_id = item("a" * 64, "open", 60, T0)
            leased = item("b" * 64, "claimed", 70, T0 - 5)
            orphan = item("c" * 64, "claimed", 80, T0 - 9)
            decided = item("d" * 64, "decided", 90, T0 - 1)
            conn.execute(
                leases.insert().values(
                    item_id=leased, moderator="m", claimed_at=T0, expires_at=T0 + 1
                )
            )
        upgrade_database(database_url)
        with engine.connect() as conn:
            rows = {
                r[0]: (r[1], r[2])
                for r in conn.execute(text("SELECT id, status, claim_key FROM review_items"))
            }
        assert rows == {
            open_id: ("open", 60 * MS_PER_POINT - T0),
            leased: ("claimed", 70 * MS_PER_POINT - (T0 - 5)),
            orphan: ("open", 80 * MS_PER_POINT - (T0 - 9)),
            decided: ("decided", 90 * MS_PER_POINT - (T0 - 1)),
        }
    finally:
        engine.dispose()
