"""The whole client flow against the real service app (report_service.app.create_app),
through the client's one transport seam: send, receive, scan, report, outbox, outcome."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from client_scan.client import FranklyClient
from client_scan.errors import ReportRejected
from client_scan.messaging import Attachment
from client_scan.outbox import OutboxStatus
from client_scan.report_format import Reason

from .conftest import SESSION_KEY

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
PICTURE = b"\x89PNG\r\n\x1a\n not really a picture " * 20


class SyncASGITransport(httpx.BaseTransport):
    """Drive an ASGI app from the synchronous client: one event loop per request."""

    def __init__(self, app: object) -> None:
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # type: ignore[arg-type]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def go() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return asyncio.run(go())


@dataclass
class Clock:
    now_ms: int = T0 + 60_000

    def __call__(self) -> int:
        return self.now_ms

    def seconds(self) -> float:
        return self.now_ms / 1000


@dataclass
class Deployment:
    transport: httpx.BaseTransport
    tokens: dict[str, str]
    clock: Clock
    app: object


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    pytest.importorskip("report_service.app")
    from report_service.app import create_app
    from report_service.keys import generate_key_material
    from report_service.settings import Settings
    from report_service.storage.users import add_user
    from report_service.tokens import hash_token, new_token

    clock = Clock()
    settings = Settings(
        environment="development",
        data_dir=tmp_path / "service",
        database_url=f"sqlite:///{tmp_path / 'service.sqlite'}",
    )
    app = create_app(settings, keys=generate_key_material(os.urandom, T0), clock=clock)
    tokens: dict[str, str] = {}
    for name in ("alice", "bob"):
        tokens[name] = new_token()
        with app.state.session_factory() as session:
            add_user(session, name, hash_token(tokens[name]), clock())
    try:
        yield Deployment(SyncASGITransport(app), tokens, clock, app)
    finally:
        app.state.engine.dispose()


def _client(d: Deployment, user: str, folder: Path) -> FranklyClient:
    return FranklyClient(
        user_id=user,
        base_url="http://frankly",
        token=d.tokens[user],
        data_dir=folder / user,
        transport=d.transport,
        clock=d.clock.seconds,
        rng=random.Random(0),
    )


def test_send_receive_report_and_outcome_against_the_real_service(
    deployment: Deployment, tmp_path: Path
) -> None:
    with (
        _client(deployment, "alice", tmp_path) as alice,
        _client(deployment, "bob", tmp_path) as bob,
    ):
        alice.send(SESSION_KEY, "bob", "conv-1", "hi")
        deployment.clock.now_ms += 1000
        bob.send(SESSION_KEY, "alice", "conv-1", "hello")
        deployment.clock.now_ms += 1000
        abuse = alice.send(
            SESSION_KEY, "bob", "conv-1", "abuse", [Attachment(PICTURE, "image/png", id="p")]
        )
        received = bob.receive(lambda d: SESSION_KEY)
        assert received.rejected == ()
        assert [r.payload.body for r in received.accepted] == ["hi", "abuse"]
        bob.accept_attachment(abuse.id, "p", PICTURE)
        digest = hashlib.sha256(PICTURE).hexdigest()

        deployment.clock.now_ms += 1000
        entry = bob.report(
            [abuse.id],
            Reason.HARASSMENT,
            comment="this keeps happening",
            include_attachments=[digest],
            device_matches=[{"sha256": digest, "list_id": "demo", "distance": 3}],
        )
        assert entry.status is OutboxStatus.SENT, entry
        status = bob.report_status(entry.report_id)
        assert status.report_id == entry.report_id
        # Submitting the identical sealed report again is idempotent (200, same report).
        again = bob.service.submit_report(entry.sealed)
        assert again.report_id == entry.report_id
        assert not again.created


def test_a_report_of_a_message_the_reporter_sent_is_refused_for_good(
    deployment: Deployment, tmp_path: Path
) -> None:
    with (
        _client(deployment, "alice", tmp_path) as alice,
        _client(deployment, "bob", tmp_path) as bob,
    ):
        mine = alice.send(SESSION_KEY, "bob", "conv-1", "hi")
        bob.receive(lambda d: SESSION_KEY)
        # Forge: claim alice *received* her own message by rewriting the local record.
        import dataclasses

        forged = dataclasses.replace(
            mine,
            message=dataclasses.replace(mine.message, recipient_id="alice", sender_id="bob"),
        )
        other = _client(deployment, "alice", tmp_path / "forger")
        with other:
            other.store.add_message(forged)
            with pytest.raises(ReportRejected) as info:
                other.report([forged.id], Reason.SPAM)
            assert info.value.code == "stamp_invalid"
            assert info.value.message_index == 0
            (failed,) = other.outbox.entries(OutboxStatus.FAILED)
            assert failed.error_code == "stamp_invalid"


def test_the_example_client_flow_runs_against_the_real_service(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    path = Path(__file__).parents[2] / "examples" / "client_flow.py"
    spec = importlib.util.spec_from_file_location("client_flow_example", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The service's clock is fixed; the example stamps messages with it.
    argv = ["--url", "http://frankly", "--data", str(tmp_path / "example")]
    argv += ["--alice-token", deployment.tokens["alice"], "--bob-token", deployment.tokens["bob"]]
    assert module.main(argv, transport=deployment.transport) == 0
    out = capsys.readouterr().out
    assert "on-device scan: 1 match(es)" in out
    assert ": sent" in out
