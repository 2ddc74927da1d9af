"""Blame must never shift (issue 10, section 1), attacked as a user would: real clients
(:class:`~client_scan.client.FranklyClient` and its :class:`ServiceClient`) against the
real service over loopback HTTP (uvicorn), on SQLite and PostgreSQL.

A review item is one *stamped* message, ``(commitment, sender, conversation)``
(docs/protocol.md, "What makes a review item"). The attacks re-send someone else's exact
``(fk, P)``, which gives the same commitment under the attacker's own stamp:

- relay: mallory re-sends alice's message to dave; dave reports first, then bob reports
  alice's real message. Before the fix there was one item, with mallory as its sender, and
  a ``suspend_sender`` decision about alice's message landed on mallory.
- re-send: bob re-sends a message alice sent him to carol; carol's report re-opened
  alice's item already decided ``no_violation``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_scan.client import FranklyClient
from client_scan.franking.commitment import new_franking_key
from client_scan.franking.envelope import NONCE_BYTES
from client_scan.messaging import Attachment, frank_outgoing
from client_scan.records import MessageRecord
from client_scan.report_format import Reason
from tests.report_service.conftest import (  # noqa: F401  (fixtures used by name)
    Service,
    clock,
    keys,
    live_url,
    loopback_client,
    service,
)
from tests.report_service.review.review_support import png_bytes

SESSION_KEY = bytes(range(7, 39))  # the reference envelope's key, shared by every pair
POLICY = "harassment/1.2"
USERS = ("alice", "bob", "carol", "dave", "mallory")
PICTURE = png_bytes(3)


class World:
    """Users with real clients, and moderators, on one running service."""

    def __init__(self, svc: Service, url: str, folder: Path) -> None:
        self.service = svc
        self.url = url
        self.folder = folder
        self.http = loopback_client(url)
        self.clients: dict[str, FranklyClient] = {}
        for name in USERS:
            if name not in svc.tokens:
                svc.add_user(name)
        review = svc.app.state.review
        self.staff = {
            role: {"Authorization": f"Bearer {review.add_moderator('test', role, role).token}"}
            for role in ("moderator", "lead", "auditor")
        }

    def user(self, name: str) -> FranklyClient:
        if name not in self.clients:
            self.clients[name] = FranklyClient(
                user_id=name,
                base_url=self.url,
                token=self.service.tokens[name],
                data_dir=self.folder / name,
                rng=random.Random(0),
            )
        return self.clients[name]

    def close(self) -> None:
        for c in self.clients.values():
            c.close()
        self.http.close()

    # -- messaging, honest and not

    def group_send(self, sender: str, members: list[str], conversation: str, body: str) -> bytes:
        """An honest group message: franked once, stamped by the relay once per member."""
        from client_scan.franking.payload import encode_payload

        out = frank_outgoing(
            SESSION_KEY, encode_payload(body, []), new_franking_key(), os.urandom(NONCE_BYTES)
        )
        for member in members:
            relay = self.user(sender).service
            relay.relay_send(member, conversation, out.ciphertext, out.commitment)
        return out.commitment

    def resend(self, attacker: str, record: MessageRecord, to: str, conversation: str) -> None:
        """Re-send a received message's exact ``(fk, P)``: the same commitment, under the
        attacker's own authenticated stamp (what an unmodified client must never do)."""
        out = frank_outgoing(
            SESSION_KEY, record.payload, record.message.franking_key, os.urandom(NONCE_BYTES)
        )
        assert out.commitment == record.message.commitment
        self.user(attacker).service.relay_send(to, conversation, out.ciphertext, out.commitment)

    def receive(self, name: str) -> list[MessageRecord]:
        got = self.user(name).receive(lambda _delivery: SESSION_KEY)
        assert got.rejected == ()
        return list(got.accepted)

    def report(self, name: str, record: MessageRecord, **kw: Any) -> str:
        entry = self.user(name).report([record.id], Reason.HARASSMENT, **kw)
        assert entry.status.value == "sent", entry
        return entry.report_id

    def status(self, name: str, report_id: str) -> tuple[str, Any]:
        s = self.user(name).report_status(report_id)
        return s.status, s.outcome

    # -- moderation over HTTP

    def call(self, method: str, path: str, role: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, headers=self.staff[role], **kw)

    def depth(self) -> int:
        queues = self.call("GET", "/v1/review/queues", "moderator").json()["queues"]
        return sum(q["depth"] + q["claimed"] for q in queues)

    def items(self) -> dict[int, dict[str, Any]]:
        """Every item the lead can see, by id (ids are dense from 1)."""
        found: dict[int, dict[str, Any]] = {}
        for item_id in range(1, 50):
            r = self.call("GET", f"/v1/review/items/{item_id}", "lead")
            if r.status_code == 404:
                continue
            assert r.status_code == 200, r.text
            found[item_id] = r.json()
        return found

    def claim_until(self, sender: str) -> int:
        """Claim items until the one whose verified sender is ``sender``."""
        while True:
            r = self.call("POST", "/v1/review/queues/general/claim", "moderator")
            assert r.status_code == 200, r.text
            item = r.json()["item"]["id"]
            detail = self.call("GET", f"/v1/review/items/{item}", "moderator").json()
            if detail["verified"]["message"]["sender_id"] == sender:
                return int(item)

    def decide(self, item: int, decision: str) -> None:
        r = self.call(
            "POST",
            f"/v1/review/items/{item}/decision",
            "moderator",
            json={"decision": decision, "policy": POLICY},
        )
        assert r.status_code == 200, r.text


@pytest.fixture
def world(service: Service, live_url: str, tmp_path: Path) -> Iterator[World]:  # noqa: F811
    """alice and friends on the service (SQLite and PostgreSQL) over loopback HTTP."""
    w = World(service, live_url, tmp_path / "clients")
    try:
        yield w
    finally:
        w.close()


def _by_message(items: dict[int, dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Item details by the (sender, conversation) of their verified message."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for detail in items.values():
        message = detail["verified"]["message"]
        out[(message["sender_id"], message["conversation_id"])] = detail
    assert len(out) == len(items), "two items about one stamped message"
    return out


def _by_sender(items: dict[int, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for detail in items.values():
        sender = detail["verified"]["message"]["sender_id"]
        assert sender not in out, "two items about one sender's copy"
        out[sender] = detail
    return out


def test_a_relayed_copy_does_not_move_blame_to_the_relayer(world: World) -> None:
    # alice's group message reaches bob and mallory with one commitment.
    commitment = world.group_send("alice", ["bob", "mallory"], "group-1", "you will regret this")
    [mallory_copy] = world.receive("mallory")
    # mallory relays the exact (fk, P) to dave: the same commitment, stamped as hers.
    world.resend("mallory", mallory_copy, "dave", "mallory-dave")
    [dave_copy] = world.receive("dave")
    assert dave_copy.message.commitment == commitment
    assert (dave_copy.message.sender_id, dave_copy.message.conversation_id) == (
        "mallory",
        "mallory-dave",
    )
    dave_report = world.report("dave", dave_copy)  # dave reports first
    [bob_copy] = world.receive("bob")
    assert bob_copy.message.commitment == commitment
    bob_report = world.report("bob", bob_copy)

    # Two stamped messages, two items, each with its own sender and reporters.
    assert world.depth() == 2
    items = _by_sender(world.items())
    assert sorted(items) == ["alice", "mallory"]
    assert [c["reporter_id"] for c in items["alice"]["reporter_claims"]] == ["bob"]
    assert [c["reporter_id"] for c in items["mallory"]["reporter_claims"]] == ["dave"]
    assert items["alice"]["verified"]["message"]["conversation_id"] == "group-1"
    assert items["mallory"]["verified"]["message"]["conversation_id"] == "mallory-dave"
    assert [m["subject"] for m in items["alice"]["transcript"]] == [True]

    # A second, unrelated report about alice shows where the decision landed.
    world.user("alice").send(SESSION_KEY, "bob", "alice-bob", "and another thing")
    [other] = world.receive("bob")
    world.report("bob", other)

    # The moderator suspends the sender of alice's message: it lands on alice.
    alice_item = world.claim_until("alice")
    world.decide(alice_item, "suspend_sender")
    after = _by_message(world.items())
    assert after[("alice", "group-1")]["item"]["id"] == alice_item
    assert [d["decision"] for d in after[("alice", "group-1")]["decisions"]] == ["suspend_sender"]
    assert after[("mallory", "mallory-dave")]["decisions"] == []
    assert after[("mallory", "mallory-dave")]["decisions_about_sender"] == []
    history = after[("alice", "alice-bob")]["decisions_about_sender"]
    assert [d["decision"] for d in history] == ["suspend_sender"]
    # Each reporter sees the outcome of the message they reported, not the other one's.
    assert world.status("bob", bob_report) == ("decided", "suspend_sender")
    assert world.status("dave", dave_report) == ("received", None)


def test_a_resent_copy_does_not_reopen_a_decided_item(world: World) -> None:
    sent = world.user("alice").send(SESSION_KEY, "bob", "alice-bob", "meet me or else")
    [bob_copy] = world.receive("bob")
    bob_report = world.report("bob", bob_copy)
    alice_item = world.claim_until("alice")
    world.decide(alice_item, "no_violation")
    assert world.status("bob", bob_report) == ("decided", "no_violation")

    # bob re-sends alice's exact message to carol, who reports it.
    world.resend("bob", bob_copy, "carol", "bob-carol")
    [carol_copy] = world.receive("carol")
    assert carol_copy.message.commitment == sent.message.commitment
    carol_report = world.report("carol", carol_copy)

    # carol never received alice's stamped message: alice's item stays decided, and
    # carol's report is an item about bob's copy, waiting for review.
    assert world.status("bob", bob_report) == ("decided", "no_violation")
    assert world.status("carol", carol_report) == ("received", None)
    audit = world.call("GET", "/v1/audit", "auditor", params={"item": alice_item}).json()
    assert "item_requeue" not in [e["action"] for e in audit["entries"]]
    items = _by_sender(world.items())
    assert sorted(items) == ["alice", "bob"]
    assert items["alice"]["item"]["status"] == "decided"
    assert items["alice"]["item"]["reporter_count"] == 1
    assert [c["reporter_id"] for c in items["bob"]["reporter_claims"]] == ["carol"]
    assert items["bob"]["item"]["status"] == "open"
    assert world.depth() == 1


def test_a_group_member_who_received_the_message_still_requeues_it(world: World) -> None:
    # The control for the test above: one group message, stamped for bob and for carol,
    # is one item; carol received it herself, so her report after no_violation is a new
    # reporter's and sends the item back to review (docs/review.md).
    world.group_send("alice", ["bob", "carol"], "group-2", "everyone ignore her")
    [bob_copy] = world.receive("bob")
    bob_report = world.report("bob", bob_copy)
    item = world.claim_until("alice")
    world.decide(item, "no_violation")
    [carol_copy] = world.receive("carol")
    carol_report = world.report("carol", carol_copy)
    assert world.status("bob", bob_report) == ("received", None)
    assert world.status("carol", carol_report) == ("received", None)
    [detail] = world.items().values()
    assert (detail["item"]["id"], detail["item"]["reporter_count"]) == (item, 2)
    actions = world.call("GET", "/v1/audit", "auditor", params={"item": item}).json()
    requeues = [e for e in actions["entries"] if e["action"] == "item_requeue"]
    assert [e["detail"]["report_id"] for e in requeues] == [carol_report]


def test_an_item_shows_only_the_media_of_its_own_reports(world: World) -> None:
    # dave includes the picture of mallory's relayed copy; bob reports alice's copy without
    # it. The picture is evidence on mallory's item only: nothing from dave's report
    # (words, media, count) appears on alice's.
    sent = world.user("alice").send(
        SESSION_KEY, "mallory", "alice-mallory", "look", [Attachment(PICTURE, "image/png", id="p")]
    )
    [mallory_copy] = world.receive("mallory")
    world.resend("mallory", mallory_copy, "dave", "mallory-dave")
    [dave_copy] = world.receive("dave")
    world.user("dave").accept_attachment(dave_copy.id, "p", PICTURE)
    digest = dave_copy.payload.attachments[0].sha256
    world.report("dave", dave_copy, include_attachments=[digest], comment="from mallory")
    assert sent.message.commitment == dave_copy.message.commitment
    items = _by_sender(world.items())
    assert sorted(items) == ["mallory"]
    mallory_item = items["mallory"]["item"]["id"]
    assert [a["sha256"] for a in items["mallory"]["verified"]["attachments"]] == [digest]
    # mallory reports alice's original (she received it): a separate item, no media.
    world.report("mallory", mallory_copy)
    items = _by_sender(world.items())
    assert sorted(items) == ["alice", "mallory"]
    alice_item = items["alice"]["item"]["id"]
    assert items["alice"]["verified"]["attachments"] == []
    assert [c["comment"] for c in items["alice"]["reporter_claims"]] == [None]
    served = world.call("GET", f"/v1/review/items/{alice_item}/media/{digest}", "lead")
    assert served.status_code == 404
    served = world.call("GET", f"/v1/review/items/{mallory_item}/media/{digest}", "lead")
    assert served.status_code == 200
