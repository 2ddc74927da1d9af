"""Two stamped copies of one message on the recipient's device (issue 10, section 1,
client side), attacked as a user would: real clients
(:class:`~client_scan.client.FranklyClient`) against the real service over loopback HTTP
(uvicorn), on SQLite and PostgreSQL.

mallory re-sends alice's exact ``(fk, P)`` to bob, who already holds alice's message: the
same payload id and commitment under mallory's own stamp. The client kept records by
payload id, so bob's client refused mallory's copy on receipt (quarantined as
``record_conflict``), and a report could hold only one of them (the service refuses
``duplicate_message``). Records are now keyed by stamped message: bob keeps both and
reports either, and the review item names the stamped sender of the copy he reported
(docs/client.md, "Two copies of one message"; docs/protocol.md, "What makes a review
item").
"""

from __future__ import annotations

import base64
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_scan.client import FranklyClient
from client_scan.errors import InvalidInput
from client_scan.franking.commitment import new_franking_key
from client_scan.franking.envelope import NONCE_BYTES
from client_scan.franking.payload import encode_payload
from client_scan.messaging import frank_outgoing
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

SESSION_KEY = bytes(range(90, 122))  # the reference envelope's key, shared by every pair


class Phones:
    """alice, bob and mallory with real clients, and a lead, on one running service."""

    def __init__(self, svc: Service, url: str, folder: Path) -> None:
        self.service = svc
        self.url = url
        self.folder = folder
        self.http = loopback_client(url)
        self.clients: dict[str, FranklyClient] = {}
        for name in ("alice", "bob", "mallory"):
            if name not in svc.tokens:
                svc.add_user(name)
        lead = svc.app.state.review.add_moderator("test", "lead", "lead")
        self.lead = {"Authorization": f"Bearer {lead.token}"}

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

    def restart(self, name: str) -> FranklyClient:
        self.clients.pop(name).close()
        return self.user(name)

    def close(self) -> None:
        for c in self.clients.values():
            c.close()
        self.http.close()

    def group_send(self, sender: str, members: list[str], conversation: str, body: str) -> None:
        """An honest group message: franked once, stamped by the relay once per member."""
        out = frank_outgoing(
            SESSION_KEY, encode_payload(body, []), new_franking_key(), os.urandom(NONCE_BYTES)
        )
        for member in members:
            self.user(sender).service.relay_send(
                member, conversation, out.ciphertext, out.commitment
            )

    def resend(self, attacker: str, record: MessageRecord, to: str, conversation: str) -> None:
        """Re-send a received message's exact ``(fk, P)`` under the attacker's own stamp
        (what an unmodified client never does: it franks every send afresh)."""
        out = frank_outgoing(
            SESSION_KEY, record.payload, record.message.franking_key, os.urandom(NONCE_BYTES)
        )
        self.user(attacker).service.relay_send(to, conversation, out.ciphertext, out.commitment)

    def receive(self, name: str) -> list[MessageRecord]:
        got = self.user(name).receive(lambda _delivery: SESSION_KEY)
        assert got.rejected == (), got.rejected
        assert self.user(name).quarantined() == []
        return list(got.accepted)

    def items(self) -> list[dict[str, Any]]:
        """Every review item's detail, as the lead sees it (ids are dense from 1)."""
        found = []
        for item_id in range(1, 20):
            r = self.http.get(f"/v1/review/items/{item_id}", headers=self.lead)
            if r.status_code == 404:
                continue
            assert r.status_code == 200, r.text
            found.append(r.json())
        return found


@pytest.fixture
def phones(service: Service, live_url: str, tmp_path: Path) -> Iterator[Phones]:  # noqa: F811
    p = Phones(service, live_url, tmp_path / "phones")
    try:
        yield p
    finally:
        p.close()


def _item_of(items: list[dict[str, Any]], report_id: str, phones: Phones) -> dict[str, Any]:
    [detail] = [d for d in items if report_id in [c["report_id"] for c in d["reporter_claims"]]]
    return detail


@pytest.mark.parametrize("relayed_into", ["group-1", "mallory-bob"])
def test_a_relayed_copy_is_kept_beside_the_original_and_each_is_reported_as_its_own(
    phones: Phones, relayed_into: str
) -> None:
    # alice's group message reaches bob and mallory; bob keeps alice's copy.
    phones.group_send("alice", ["bob", "mallory"], "group-1", "you will regret this")
    [alice_copy] = phones.receive("bob")
    [mallory_received] = phones.receive("mallory")
    # mallory re-sends the exact (fk, P) to bob (into the group, or a chat of her own).
    phones.resend("mallory", mallory_received, "bob", relayed_into)
    # bob's client keeps the second stamped copy (it used to refuse it as a conflict).
    [mallory_copy] = phones.receive("bob")
    assert mallory_copy.payload_id == alice_copy.payload_id
    assert mallory_copy.message.commitment == alice_copy.message.commitment
    assert (mallory_copy.message.sender_id, mallory_copy.conversation_id) == (
        "mallory",
        relayed_into,
    )
    assert mallory_copy.id != alice_copy.id
    # Both survive a restart of the app, each with its own sender, conversation and stamp.
    bob = phones.restart("bob")
    assert bob.store.get_message(alice_copy.id) == alice_copy
    assert bob.store.get_message(mallory_copy.id) == mallory_copy
    in_group = bob.store.conversation("group-1")
    assert alice_copy in in_group
    assert (mallory_copy in in_group) == (relayed_into == "group-1")

    # One report cites one copy (the wire names messages by payload id): both at once
    # are refused before anything is sealed, when they share a conversation.
    if relayed_into == "group-1":
        with pytest.raises(InvalidInput, match="its own report"):
            bob.report([alice_copy.id, mallory_copy.id], Reason.HARASSMENT)
        assert bob.outbox.entries() == []

    # bob reports mallory's copy: the item names mallory, in her conversation.
    first = bob.report([mallory_copy.id], Reason.HARASSMENT, context=10)
    assert first.status.value == "sent", first
    [mallory_item] = phones.items()
    message = mallory_item["verified"]["message"]
    assert (message["sender_id"], message["conversation_id"]) == ("mallory", relayed_into)
    assert [c["reporter_id"] for c in mallory_item["reporter_claims"]] == ["bob"]
    assert [m["sender_id"] for m in mallory_item["transcript"]] == ["mallory"]

    # bob reports alice's copy too: a second item, naming alice.
    second = bob.report([alice_copy.id], Reason.HARASSMENT, context=10)
    assert second.status.value == "sent", second
    items = phones.items()
    assert len(items) == 2
    alice_item = _item_of(items, second.report_id, phones)
    message = alice_item["verified"]["message"]
    assert (message["sender_id"], message["conversation_id"]) == ("alice", "group-1")
    assert [m["sender_id"] for m in alice_item["transcript"]] == ["alice"]
    again = _item_of(items, first.report_id, phones)
    assert again["verified"]["message"]["sender_id"] == "mallory"
    assert again["item"]["id"] == mallory_item["item"]["id"]
    assert again["item"]["reporter_count"] == 1


class AcksNeverArrive(httpx.BaseTransport):
    """Real HTTP, except that every inbox acknowledgement is lost on the way."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/relay/inbox/ack":
            raise httpx.ConnectError("the acknowledgement never reached the relay")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_both_copies_in_one_batch_are_kept_and_a_redelivery_is_kept_once(
    phones: Phones,
) -> None:
    phones.group_send("alice", ["bob", "mallory"], "group-1", "everyone ignore her")
    [mallory_received] = phones.receive("mallory")
    phones.resend("mallory", mallory_received, "bob", "group-1")
    # bob fetches both copies in one batch, and his acknowledgements are lost.
    with FranklyClient(
        user_id="bob",
        base_url=phones.url,
        token=phones.service.tokens["bob"],
        data_dir=phones.folder / "bob",
        transport=AcksNeverArrive(),
    ) as flaky:
        first = flaky.receive(lambda _delivery: SESSION_KEY)
    assert first.rejected == ()
    assert sorted(r.message.sender_id for r in first.accepted) == ["alice", "mallory"]
    assert len({r.payload_id for r in first.accepted}) == 1
    # The relay delivers both again: the same stamped messages, stored once, not
    # returned twice, and acknowledged this time.
    assert phones.receive("bob") == []
    bob = phones.user("bob")
    assert sorted(bob.store.conversation("group-1"), key=lambda r: r.id) == sorted(
        first.accepted, key=lambda r: r.id
    )
    assert bob.service.inbox_page().deliveries == ()


def test_the_terminal_client_lists_both_copies_and_reports_the_one_named(
    phones: Phones, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from frankly.cli import main

    key = base64.b64encode(SESSION_KEY).decode()
    home = ["client", "--home", str(tmp_path / "bob-terminal")]
    init = ["init", "--url", phones.url, "--user", "bob", "--token", phones.service.tokens["bob"]]
    assert main([*home, *init]) == 0
    phones.group_send("alice", ["bob", "mallory"], "group-1", "you will regret this")
    [mallory_received] = phones.receive("mallory")
    phones.resend("mallory", mallory_received, "bob", "group-1")
    capsys.readouterr()
    assert main([*home, "inbox", "--session-key", key]) == 0
    assert capsys.readouterr().out.endswith("2 accepted, 0 refused\n")
    assert main([*home, "messages", "group-1"]) == 0
    listed = {
        line.split()[2].split("->")[0]: line.split()[0]
        for line in capsys.readouterr().out.splitlines()
    }
    assert sorted(listed) == ["alice", "mallory"]
    assert main([*home, "report", listed["mallory"], "--reason", "harassment"]) == 0
    assert capsys.readouterr().out.rstrip().endswith(": sent")
    [item] = phones.items()
    assert item["verified"]["message"]["sender_id"] == "mallory"
    assert main([*home, "report", listed["alice"], listed["mallory"], "--reason", "spam"]) == 1
    assert "its own report" in capsys.readouterr().err


def test_a_copy_an_older_version_quarantined_as_a_conflict_is_taken_in(phones: Phones) -> None:
    # Before this change bob's client refused mallory's copy (same payload id as alice's
    # message), quarantined it as record_conflict and acknowledged it: the relay no longer
    # has it. After the upgrade the app takes it in from the quarantine.
    phones.group_send("alice", ["bob", "mallory"], "group-1", "you will regret this")
    [alice_copy] = phones.receive("bob")
    [mallory_received] = phones.receive("mallory")
    phones.resend("mallory", mallory_received, "bob", "group-1")
    bob = phones.user("bob")
    [delivery] = bob.service.inbox_page().deliveries
    bob.quarantine.add(delivery, "record_conflict", "another record already has id", 0.0)
    assert bob.service.ack([delivery.message_id]) == 1
    stale = bob.retry_quarantined(lambda _delivery: bytes(32))  # a wrong key: stays
    assert stale.accepted == ()
    assert [type(r.error).__name__ for r in stale.rejected] == ["EnvelopeError"]
    assert [q.message_id for q in bob.quarantined()] == [delivery.message_id]
    taken = bob.retry_quarantined(lambda _delivery: SESSION_KEY)
    assert taken.rejected == ()
    [mallory_copy] = taken.accepted
    assert (mallory_copy.message.sender_id, mallory_copy.payload_id) == (
        "mallory",
        alice_copy.payload_id,
    )
    assert bob.quarantined() == []
    assert {r.id for r in bob.store.conversation("group-1")} == {alice_copy.id, mallory_copy.id}
    entry = bob.report([mallory_copy.id], Reason.HARASSMENT)
    assert entry.status.value == "sent", entry
    [item] = phones.items()
    assert item["verified"]["message"]["sender_id"] == "mallory"
