"""Helpers of the review tests: seeded review items with real encrypted evidence,
moderator accounts per role, a settable clock and the app."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from report_service import evidence
from report_service.http_errors import install_error_handlers
from report_service.review.api import install
from report_service.review.decisions.banking import Banker
from report_service.review.media.evidence_access import MasterKeyEvidence
from report_service.review.service import ReviewService
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from report_service.storage.models import (
    BankMatch,
    EvidenceBlob,
    EvidenceKey,
    Media,
    MediaMessage,
    Report,
    ReportItem,
    ReportMessage,
    ReviewItem,
    User,
)
from report_service.storage.write_turn import write_turn_for

MASTER_KID = "mk-test"
MASTER_KEY = bytes(range(32))
T0 = 1_700_000_000_000
ROLES = ("moderator", "child_safety", "lead", "auditor", "admin")


class Clock:
    """A settable clock (ms)."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def png_bytes(seed: int = 1, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small deterministic RGB PNG."""
    import numpy as np

    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(arr, "RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class Attachment:
    data: bytes
    mime: str = "image/png"
    pdq: str | None = None
    bank: tuple[str, int] | None = None  # (category, severity)

    @property
    def sha256(self) -> str:
        import hashlib

        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Seed:
    """What :func:`seed_item` stored."""

    item_id: int
    commitment: str
    report_ids: list[str] = field(default_factory=list)


def _hex() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


def _ensure_user(session: Session, name: str) -> None:
    if session.get(User, name) is None:
        session.add(User(id=name, token_hash=uuid.uuid4().bytes * 2, created_at=T0))
        session.flush()


def seed_item(
    sf: sessionmaker[Session],
    *,
    reason: str = "harassment",
    child_safety: bool = False,
    sender: str = "mallory",
    text: str = "you will regret this",
    context: str = "hi, who is this?",
    attachments: Sequence[Attachment] = (),
    reporters: Sequence[str] = ("alice",),
    comment: str | None = "he keeps sending these",
    priority: int = 50,
    created_at: int = T0,
    conversation: str = "conv-1",
) -> Seed:
    """Store reports (with encrypted evidence) about one message and their review item."""
    commitment = _hex()
    context_commitment = _hex()
    payload_id = str(uuid.uuid4())
    payload = {
        "v": 1,
        "id": payload_id,
        "body": text,
        "attachments": [
            {"id": f"a{i}", "sha256": a.sha256, "size": len(a.data), "mime": a.mime}
            for i, a in enumerate(attachments)
        ],
    }
    seed = Seed(0, commitment)
    with sf.begin() as session:
        item = ReviewItem(
            commitment=commitment,
            conversation_id=conversation,
            sender_id=sender,
            reason=reason,
            reporter_count=len(reporters),
            max_bank_severity=max((a.bank[1] for a in attachments if a.bank), default=0),
            child_safety=child_safety,
            queue="child_safety" if child_safety else "general",
            priority=priority,
            status="open",
            outcome=None,
            created_at=created_at,
            updated_at=created_at,
        )
        session.add(item)
        session.flush()
        seed.item_id = item.id
        for n, reporter in enumerate(reporters):
            _ensure_user(session, reporter)
            report_id = str(uuid.uuid4())
            seed.report_ids.append(report_id)
            session.add(
                Report(
                    report_id=report_id,
                    reporter_id=reporter,
                    reason=reason,
                    conversation_id=conversation,
                    status="received",
                    first_response="{}",
                    message_count=2,
                    attachment_count=len(attachments),
                    received_at=created_at + n,
                )
            )
            session.flush()
            data_key = bytes([n + 1]) * 32
            session.add(
                EvidenceKey(
                    report_id=report_id,
                    master_key_id=MASTER_KID,
                    wrapped_key=evidence.wrap_data_key(
                        MASTER_KEY, MASTER_KID, report_id, data_key, b"\x01" * 24
                    ),
                )
            )

            def blob(
                kind: str, ref: str, plain: bytes, rid: str = report_id, dk: bytes = data_key
            ) -> EvidenceBlob:
                return EvidenceBlob(
                    report_id=rid,
                    kind=kind,
                    ref=ref,
                    ciphertext=evidence.seal_blob(
                        dk, rid, kind, ref, plain, uuid.uuid4().bytes[:24] + b"\0" * 8
                    ),
                )

            ctx_id = str(uuid.uuid4())
            ctx_payload = {"v": 1, "id": ctx_id, "body": context, "attachments": []}
            session.add(blob("payload", payload_id, json.dumps(payload).encode()))
            session.add(blob("payload", ctx_id, json.dumps(ctx_payload).encode()))
            if comment is not None:
                session.add(blob("comment", "", comment.encode()))
            session.add(blob("device_matches", "", b'[{"category": "harassment"}]'))
            for a in attachments:
                session.add(blob("attachment", a.sha256, a.data))
                medium = Media(
                    report_id=report_id,
                    sha256=a.sha256,
                    size=len(a.data),
                    mime=a.mime,
                    pdq=a.pdq,
                    pdq_quality=100 if a.pdq else None,
                )
                session.add(medium)
                session.flush()
                session.add(MediaMessage(media_id=medium.id, commitment=commitment))
                if a.bank is not None:
                    session.add(
                        BankMatch(
                            report_id=report_id,
                            sha256=a.sha256,
                            list_id="ncmec",
                            list_version=3,
                            algorithm="pdq",
                            category=a.bank[0],
                            severity=a.bank[1],
                            distance=4,
                            entry_id="e1",
                        )
                    )
            session.add_all(
                [
                    ReportMessage(
                        report_id=report_id,
                        position=0,
                        # one group message by the first reporter (same commitment only
                        # for the same stamped sender), which the others received
                        sender_id=reporters[0],
                        recipient_id=sender if reporter == reporters[0] else reporter,
                        conversation_id=conversation,
                        timestamp_ms=created_at - 60_000,
                        commitment=context_commitment,
                        key_id="k1",
                        payload_id=ctx_id,
                        reported=False,
                    ),
                    ReportMessage(
                        report_id=report_id,
                        position=1,
                        sender_id=sender,
                        recipient_id=reporter,
                        conversation_id=conversation,
                        timestamp_ms=created_at - 1_000,
                        commitment=commitment,
                        key_id="k1",
                        payload_id=payload_id,
                        reported=True,
                    ),
                ]
            )
            session.add(ReportItem(report_id=report_id, item_id=item.id))
    return seed


@dataclass
class Env:
    """A migrated database, a clock, the service and its session factory."""

    url: str
    engine: Engine
    sf: sessionmaker[Session]
    clock: Clock
    service: ReviewService
    tokens: dict[str, str]

    def seed(self, **kwargs: object) -> Seed:
        return seed_item(self.sf, **kwargs)  # type: ignore[arg-type]


def make_env(url: str, banker: Banker | None = None, *, audit_deferred: bool | None = None) -> Env:
    """``audit_deferred`` None: as ``frankly serve`` defaults (``FRANKLY_AUDIT_SEQUENCING``
    auto): claims, releases, item views and decisions defer their audit entries on
    PostgreSQL."""
    upgrade_database(url)
    engine = make_engine(url)
    sf = make_session_factory(engine)
    clock = Clock()
    reader = MasterKeyEvidence(lambda kid: MASTER_KEY)
    if audit_deferred is None:
        audit_deferred = engine.dialect.name == "postgresql"
    # As frankly serve does: on SQLite, writes take the writers' turn (storage.write_turn).
    service = ReviewService(
        sf, clock, reader, banker, audit_deferred=audit_deferred, write_turn=write_turn_for(engine)
    )
    tokens = {role: service.add_moderator("cli", f"{role}-1", role).token for role in ROLES}
    return Env(url, engine, sf, clock, service, tokens)


def make_app(service: ReviewService) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    install(app, service)
    return app


class SyncClient:
    """Real HTTP through httpx's ASGI transport, driven synchronously."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://frankly") as c:
                return await c.request(method, url, **kw)

        return asyncio.run(go())

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
