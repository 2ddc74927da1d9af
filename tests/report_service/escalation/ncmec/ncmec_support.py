"""Helpers of the CyberTipline tests: a review database (SQLite or PostgreSQL) whose
decisions prepare reports, a ``safety_lead``, the local CyberTipline server on
127.0.0.1, and submitters pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from report_service.escalation.ncmec.client import CyberTiplineClient
from report_service.escalation.ncmec.content import CompanyProfile
from report_service.escalation.ncmec.flow import RetryPolicy, Submitter
from report_service.escalation.ncmec.local_server import PASSWORD, USER, CyberTipServer
from report_service.escalation.ncmec.models import NcmecReport
from report_service.escalation.ncmec.schemas import ApproveIn
from report_service.escalation.ncmec.service import NcmecService
from report_service.review.core import Actor
from report_service.review.media.evidence_access import MasterKeyEvidence
from report_service.review.service import ReviewService
from report_service.server import BackgroundServer
from tests.report_service.review.review_support import (
    MASTER_KEY,
    Attachment,
    Env,
    make_env,
    png_bytes,
)

PROFILE = CompanyProfile(
    first_name="Trust",
    last_name="Safety",
    email="tips@example.org",
    company_template="Example Messenger",
    legal_url="https://example.org/legal-process",
    esp_service="Example Messenger",
)


@dataclass
class Hooks:
    """Records what the submitter's hooks were called with, and in which transaction."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    holds: list[tuple[list[str], str]] = field(default_factory=list)

    def on_event(self, session: Session, event_type: str, data: dict[str, Any]) -> None:
        row = session.get(NcmecReport, data["case_id"])
        assert row is not None
        assert row.status == "submitted"
        self.events.append((event_type, data))

    def on_submitted(
        self, session: Session, report_ids: list[str], reason: str, reference: str
    ) -> None:
        self.holds.append((report_ids, reason))


@dataclass
class World:
    env: Env
    review: ReviewService
    ncmec: NcmecService
    server: CyberTipServer
    url: str
    lead: Actor
    hooks: Hooks
    sleeps: list[float] = field(default_factory=list)
    clients: list[CyberTiplineClient] = field(default_factory=list)

    def actor(self, role: str) -> Actor:
        return self.review.authenticate(self.env.tokens[role])

    def confirm(
        self,
        *,
        policy: str = "csam/1.0",
        decision: str = "suspend_sender",
        files: int = 1,
        child_safety: bool = True,
        sender: str = "mallory",
    ) -> int:
        """Seed an item, claim it and decide it; the item id."""
        seed = self.env.seed(
            reason="child_safety" if child_safety else "harassment",
            child_safety=child_safety,
            sender=sender,
            text='verified <text> & "quotes"',
            attachments=[Attachment(png_bytes(seed=i + 7)) for i in range(files)],
        )
        who = self.actor("child_safety" if child_safety else "moderator")
        queue = "child_safety" if child_safety else "general"
        claimed = self.review.claim(who, queue)
        assert claimed.item.id == seed.item_id
        self.review.decide(who, seed.item_id, decision, policy, "")
        return seed.item_id

    def report_of(self, item_id: int) -> NcmecReport | None:
        from report_service.escalation.ncmec.store import by_item

        with self.env.sf() as session:
            return by_item(session, item_id)

    def approve(self, item_id: int, **kw: Any) -> int:
        row = self.report_of(item_id)
        assert row is not None
        self.ncmec.approve(self.lead, row.id, ApproveIn(classification="A1", **kw))
        return row.id

    def submitter(
        self,
        owner: str = "s1",
        *,
        policy: RetryPolicy | None = None,
        after_call: Callable[[str], None] | None = None,
        password: str = PASSWORD,
    ) -> Submitter:
        # Every healthy call must beat this on a loaded machine; a "timeout" fault costs
        # one wait of it (the stand-in holds that answer until the retry, at most 10 s).
        client = CyberTiplineClient(self.url + "/ispws", USER, password, timeout_s=5.0)
        self.clients.append(client)
        return Submitter(
            self.env.sf,
            self.env.clock,
            MasterKeyEvidence(lambda kid: MASTER_KEY),
            PROFILE,
            client,
            owner=owner,
            events=self.hooks.on_event,
            on_submitted=self.hooks.on_submitted,
            policy=policy or RetryPolicy(attempts_per_pass=3, base_delay_s=0.01, max_attempts=3),
            lease_ms=60_000,
            sleep=self.sleeps.append,
            after_call=after_call,
        )

    def row(self, rid: int) -> NcmecReport:
        with self.env.sf() as session:
            row = session.get(NcmecReport, rid)
            assert row is not None
            return row


@contextmanager
def make_world(database_url: str) -> Iterator[World]:
    env = make_env(database_url)
    try:
        ncmec = NcmecService(env.sf, env.clock)
        evidence = MasterKeyEvidence(lambda kid: MASTER_KEY)
        review = ReviewService(env.sf, env.clock, evidence, on_decided=ncmec.prepare)
        token = review.add_moderator("cli", "safety_lead-1", "safety_lead").token
        env.tokens["safety_lead"] = token
        server = CyberTipServer()
        with BackgroundServer(server.app()) as url:
            world = World(env, review, ncmec, server, url, review.authenticate(token), Hooks())
            try:
                yield world
            finally:
                for client in world.clients:
                    client.close()
    finally:
        env.engine.dispose()
