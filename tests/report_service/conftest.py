"""Fixtures for the report service: key material, a settable clock, an app on the
``database_url`` databases, and helpers that frank, stamp and seal real reports."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from client_scan.franking.commitment import commit, new_franking_key
from client_scan.franking.keyring import Keyring
from client_scan.franking.message import FrankedMessage
from client_scan.franking.payload import AttachmentRef, encode_payload
from client_scan.franking.stamp import stamp
from client_scan.report_format import Reason, Report, encode_report
from client_scan.sealing import seal_report
from report_service.app import create_app
from report_service.keys import KeyMaterial, generate_key_material
from report_service.server import BackgroundServer
from report_service.settings import Settings
from report_service.storage.engine import make_engine, make_session_factory
from report_service.storage.migrate import upgrade_database
from report_service.storage.users import add_user
from report_service.tokens import hash_token, new_token

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class SyncClient:
    """Real HTTP over httpx's ASGI transport, driven synchronously (one event loop per
    call), so tests and Hypothesis properties stay plain functions."""

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


@dataclass
class FakeClock:
    """A clock tests move by hand."""

    now_ms: int = T0 + 60_000

    def __call__(self) -> int:
        return self.now_ms


@dataclass
class Franker:
    """Builds valid franked messages and sealed reports under given key material."""

    keys: KeyMaterial
    clock: FakeClock

    @property
    def keyring(self) -> Keyring:
        return self.keys.franking

    def frank(
        self,
        sender: str,
        recipient: str,
        body: str = "hello",
        *,
        conversation: str = "conv-1",
        attachments: Sequence[tuple[bytes, str]] = (),
        timestamp_ms: int | None = None,
    ) -> FrankedMessage:
        """A message franked by ``sender`` and stamped by the platform for ``recipient``."""
        refs = [
            AttachmentRef(f"a{i}", hashlib.sha256(data).hexdigest(), len(data), mime)
            for i, (data, mime) in enumerate(attachments)
        ]
        payload = encode_payload(body, refs)
        fk = new_franking_key()
        c = commit(fk, payload.raw)
        t = self.clock() - 1000 if timestamp_ms is None else timestamp_ms
        st = stamp(self.keyring, c, sender, recipient, conversation, t)
        return FrankedMessage(
            payload=payload.raw,
            franking_key=fk,
            commitment=c,
            stamp=st.tag,
            key_id=st.key_id,
            sender_id=sender,
            recipient_id=recipient,
            conversation_id=conversation,
            timestamp_ms=t,
        )

    def report(
        self,
        reporter: str,
        messages: Sequence[FrankedMessage],
        *,
        reported: Sequence[str] | None = None,
        reason: Reason = Reason.HARASSMENT,
        attachments: Mapping[str, bytes] | None = None,
        comment: str | None = None,
        report_id: str | None = None,
    ) -> Report:
        from client_scan.franking.payload import parse_payload

        ids = reported
        if ids is None:
            ids = [parse_payload(messages[-1].payload).id]
        return Report(
            report_id=report_id or str(uuid.uuid4()),
            reporter_id=reporter,
            reason=reason,
            messages=tuple(messages),
            reported=tuple(ids),
            comment=comment,
            attachments=dict(attachments or {}),
        )

    def seal(self, report: Report | bytes) -> bytes:
        raw = report if isinstance(report, bytes) else encode_report(report)
        return seal_report(raw, self.keys.active_sealing.public_key)


@dataclass
class Service(Franker):
    """An app, a client to it, and the helpers of :class:`Franker`."""

    app: FastAPI = field(default=None)  # type: ignore[assignment]
    client: SyncClient = field(default=None)  # type: ignore[assignment]
    tokens: dict[str, str] = field(default_factory=dict)

    def add_user(self, name: str) -> str:
        token = new_token()
        with self.app.state.session_factory() as session:
            add_user(session, name, hash_token(token), self.clock())
        self.tokens[name] = token
        return token

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def submit(self, reporter: str, report: Report | bytes, **kw: Any) -> httpx.Response:
        headers = {**self.auth(reporter), "Content-Type": "application/octet-stream"}
        return self.client.post("/v1/reports", content=self.seal(report), headers=headers, **kw)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def keys() -> KeyMaterial:
    return generate_key_material(os.urandom, T0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def franker(keys: KeyMaterial, clock: FakeClock) -> Franker:
    return Franker(keys=keys, clock=clock)


def make_service(
    database_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock, **settings: Any
) -> Iterator[Service]:
    cfg = Settings(
        environment="development",
        data_dir=tmp_path / "data",
        database_url=database_url,
        **settings,
    )
    app = create_app(cfg, keys=keys, clock=clock)
    try:
        yield Service(app=app, client=SyncClient(app), keys=keys, clock=clock)
    finally:
        app.state.engine.dispose()


@pytest.fixture
def service(
    database_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock
) -> Iterator[Service]:
    """The service on SQLite and on PostgreSQL, with users alice, bob and carol."""
    for svc in make_service(database_url, tmp_path, keys, clock):
        for name in ("alice", "bob", "carol"):
            svc.add_user(name)
        yield svc


def loopback_client(base_url: str) -> httpx.Client:
    """An httpx client for a ``BackgroundServer``, with TCP_NODELAY so that a request's
    head and body are not held back by Nagle's algorithm (about 40 ms each on loopback)."""
    nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    transport = httpx.HTTPTransport(socket_options=nodelay)
    return httpx.Client(base_url=base_url, transport=transport, timeout=30)


@pytest.fixture
def live_url(service: Service) -> Iterator[str]:
    """``service`` served by a real uvicorn on a 127.0.0.1 port; the base URL.

    Requests go over a socket through uvicorn's HTTP parser, so tests see exactly what an
    independent client sees (status line, headers, bytes on the wire)."""
    with BackgroundServer(service.app) as url:
        yield url


@pytest.fixture
def sqlite_service(
    sqlite_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock
) -> Iterator[Service]:
    """The service on SQLite only (for tests that do not exercise storage)."""
    for svc in make_service(sqlite_url, tmp_path, keys, clock):
        for name in ("alice", "bob", "carol"):
            svc.add_user(name)
        yield svc


__all__ = [
    "T0",
    "FakeClock",
    "Franker",
    "Service",
    "b64",
    "loopback_client",
    "make_engine",
    "make_session_factory",
]


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a freshly migrated SQLite or PostgreSQL database (``database_url``:
    each test runs on both)."""
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()
