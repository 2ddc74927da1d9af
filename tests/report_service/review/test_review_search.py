"""``GET /v1/review/items``: search by sender, reporter, report id, status and standing
decision; keyset paging; role checks (child-safety items never leak); audited."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from report_service.review.models import DecisionRow
from report_service.review.moderators.roles import Role
from report_service.review.search.items import ItemQuery, search_items
from report_service.review.service import ReviewService
from report_service.storage.models import ReviewItem
from tests.report_service.conftest import Service
from tests.report_service.review.review_support import ROLES, T0, Env, Seed, seed_item


@dataclass
class World:
    svc: Service
    tokens: dict[str, str]
    items: dict[str, Seed]

    def get(self, role: str, query: str = "") -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return self.svc.client.get(f"/v1/review/items{query}", headers=headers)

    def ids(self, role: str, query: str = "") -> list[int]:
        r = self.get(role, query)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]


def decide(svc: Service, item_id: int, decision: str, *, reopened: bool = False) -> None:
    decide_rows(svc.app.state.session_factory, item_id, decision, reopened=reopened)


def decide_rows(
    sf: sessionmaker[Session], item_id: int, decision: str, *, reopened: bool = False
) -> None:
    with sf.begin() as session:
        item = session.get(ReviewItem, item_id)
        assert item is not None
        item.status = "open" if reopened else "decided"
        item.outcome = None if reopened else decision
        session.add(
            DecisionRow(
                item_id=item_id,
                sender_id=item.sender_id,
                moderator="moderator-1",
                decision=decision,
                policy="p/1",
                note="",
                banked=0,
                decided_at=1,
                reopened_at=2 if reopened else None,
                reopened_by="lead-1" if reopened else None,
                reopen_reason="looked again at it" if reopened else None,
            )
        )


@pytest.fixture
def world(service: Service) -> World:
    review: ReviewService = service.app.state.review
    tokens = {role: review.add_moderator("cli", f"{role}-1", role).token for role in ROLES}
    sf = service.app.state.session_factory
    items = {
        "m1": seed_item(sf, sender="mallory", reporters=("alice",)),
        "e1": seed_item(sf, sender="eve", reporters=("alice", "bob")),
        "cs": seed_item(sf, sender="mallory", reporters=("bob",), child_safety=True),
        "m2": seed_item(sf, sender="mallory", reporters=("bob",)),
        "e2": seed_item(sf, sender="eve", reporters=("carol",)),
    }
    decide(service, items["m1"].item_id, "warn_sender")
    decide(service, items["e2"].item_id, "suspend_sender", reopened=True)
    return World(service, tokens, items)


def test_filters(world: World) -> None:
    i = {k: s.item_id for k, s in world.items.items()}
    assert world.ids("moderator") == sorted([i["m1"], i["e1"], i["m2"], i["e2"]], reverse=True)
    assert world.ids("moderator", "?sender=mallory") == [i["m2"], i["m1"]]
    assert world.ids("child_safety", "?sender=mallory") == [i["m2"], i["cs"], i["m1"]]
    assert world.ids("lead", "?reporter=bob") == [i["m2"], i["e1"]]
    assert world.ids("lead", "?reporter=alice&sender=eve") == [i["e1"]]
    rid = world.items["e1"].report_ids[1]
    assert world.ids("lead", f"?report_id={rid.upper()}") == [i["e1"]]
    assert world.ids("lead", "?status=decided") == [i["m1"]]
    assert world.ids("lead", "?status=open&sender=eve") == [i["e2"], i["e1"]]
    assert world.ids("lead", "?decision=warn_sender") == [i["m1"]]
    # A reopened decision no longer stands.
    assert world.ids("lead", "?decision=suspend_sender") == []
    assert world.ids("lead", "?reporter=nobody") == []
    found = world.get("lead", "?sender=mallory").json()["items"]
    assert found[1]["sender_id"] == "mallory"
    assert found[1]["decision"] == "warn_sender"
    assert found[0]["decision"] is None
    assert "text" not in str(found)  # summaries only, never evidence


def test_child_safety_items_never_reach_other_roles(world: World) -> None:
    cs = world.items["cs"]
    for role in ("moderator", "lead"):
        assert cs.item_id not in world.ids(role)
        assert world.ids(role, f"?report_id={cs.report_ids[0]}") == []
        assert world.ids(role, "?reporter=bob&sender=mallory") == [world.items["m2"].item_id]
        # Paging one by one never stops on (or counts) the hidden item.
        seen: list[int] = []
        cursor = ""
        while True:
            page = world.get(role, f"?limit=1{cursor}").json()
            seen += [x["id"] for x in page["items"]]
            if page["next"] is None:
                break
            assert page["next"] != cs.item_id
            cursor = f"&cursor={page['next']}"
        assert seen == world.ids(role)
    assert cs.item_id in world.ids("child_safety", f"?report_id={cs.report_ids[0]}")


@pytest.mark.parametrize("limit", [1, 2, 3, 200])
def test_keyset_paging_walks_everything_once(world: World, limit: int) -> None:
    seen: list[int] = []
    query = f"?limit={limit}"
    pages = 0
    while True:
        page = world.get("child_safety", query).json()
        pages += 1
        assert len(page["items"]) <= limit
        seen += [x["id"] for x in page["items"]]
        if page["next"] is None:
            break
        assert page["next"] == seen[-1]
        query = f"?limit={limit}&cursor={page['next']}"
    assert seen == sorted({s.item_id for s in world.items.values()}, reverse=True)
    assert pages == -(-5 // limit)  # no empty last page


@pytest.mark.parametrize(
    "query",
    [
        "?limit=0",
        "?limit=201",
        "?status=closed",
        "?decision=ban",
        "?report_id=not-a-uuid",
        "?cursor=0",
        "?sender=",
        "?sender=a%00b",
        "?reporter=" + "x" * 129,
    ],
)
def test_bad_queries_are_422(world: World, query: str) -> None:
    r = world.get("lead", query)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_request"


def test_roles_and_audit(world: World) -> None:
    assert world.get("auditor").status_code == 403
    assert world.get("admin").status_code == 403
    assert world.svc.client.get("/v1/review/items").status_code == 401
    world.ids("lead", "?sender=eve&limit=1")
    headers = {"Authorization": f"Bearer {world.tokens['auditor']}"}
    entries = world.svc.client.get("/v1/audit?action=item_search", headers=headers).json()
    [entry] = entries["entries"]
    assert entry["actor"] == "lead-1"
    assert entry["detail"] == {"sender": "eve", "cursor": None, "results": 1}


def test_paging_equals_brute_force(env: Env) -> None:
    """Any filters, any page size, either visibility: walking the pages yields exactly the
    matching visible items, newest first, each once (SQLite and PostgreSQL)."""
    rng = random.Random(12)
    meta: dict[int, dict[str, Any]] = {}
    for n in range(24):
        reporters = tuple(rng.sample(["r1", "r2", "r3"], rng.randint(1, 2)))
        s = seed_item(
            env.sf,
            sender=rng.choice(["s1", "s2", "s3"]),
            reporters=reporters,
            child_safety=rng.random() < 0.3,
            created_at=T0 + n,
        )
        decision = rng.choice([None, "warn_sender", "suspend_sender", "no_violation"])
        reopened = decision is not None and rng.random() < 0.3
        if decision is not None:
            decide_rows(env.sf, s.item_id, decision, reopened=reopened)
        with env.sf() as session:
            item = session.get(ReviewItem, s.item_id)
            assert item is not None
            meta[s.item_id] = {
                "sender": item.sender_id,
                "reporters": set(reporters),
                "report_ids": set(s.report_ids),
                "status": item.status,
                "decision": None if reopened else decision,
                "child_safety": item.child_safety,
            }
    all_report_ids = sorted(r for m in meta.values() for r in m["report_ids"])

    @given(
        sender=st.none() | st.sampled_from(["s1", "s2", "s3", "nobody"]),
        reporter=st.none() | st.sampled_from(["r1", "r2", "r3"]),
        report_id=st.none() | st.sampled_from(all_report_ids),
        status=st.none() | st.sampled_from(["open", "decided"]),
        decision=st.none() | st.sampled_from(["warn_sender", "suspend_sender", "no_violation"]),
        limit=st.integers(1, 7),
        role=st.sampled_from([Role.MODERATOR, Role.CHILD_SAFETY]),
    )
    @settings(max_examples=25, deadline=None)
    def walk(
        sender: str | None,
        reporter: str | None,
        report_id: str | None,
        status: str | None,
        decision: str | None,
        limit: int,
        role: Role,
    ) -> None:
        expected = sorted(
            (
                i
                for i, m in meta.items()
                if (role is Role.CHILD_SAFETY or not m["child_safety"])
                and (sender is None or m["sender"] == sender)
                and (reporter is None or reporter in m["reporters"])
                and (report_id is None or report_id in m["report_ids"])
                and (status is None or m["status"] == status)
                and (decision is None or m["decision"] == decision)
            ),
            reverse=True,
        )
        seen: list[int] = []
        cursor = None
        while True:
            q = ItemQuery(sender, reporter, report_id, status, decision, cursor, limit)
            page = search_items(env.sf, env.clock, "p", role, q)
            assert len(page.items) <= limit
            seen += [x.id for x in page.items]
            if page.next is None:
                break
            cursor = page.next
        assert seen == expected

    walk()
