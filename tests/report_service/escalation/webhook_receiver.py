"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 (uvicorn in a thread)
that checks every request's Standard Webhooks signature with the independent
``standardwebhooks`` package and records it, answering with scripted statuses."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from standardwebhooks.webhooks import Webhook

from report_service.server import BackgroundServer


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    msg_id: str
    timestamp: int
    body: bytes
    verified: bool
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Set ``secret`` once the endpoint exists; ``script`` lists the statuses to answer
    (then 200); ``delay_s`` slows every answer (to widen races)."""

    secret: str | None = None
    script: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    extra_headers: dict[str, str] = field(default_factory=dict)
    answer_bytes: int = 0
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _verified(self, msg_id: str, stamp: str, signature: str, body: bytes) -> bool:
        if self.secret is None or not stamp.isdigit():
            return False
        at = datetime.fromtimestamp(int(stamp), UTC)
        expected = Webhook(self.secret).sign(msg_id, at, body.decode("utf-8"))
        return expected in signature.split(" ")

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/{path:path}")
        async def hook(path: str, request: Request) -> Response:
            body = await request.body()
            h = request.headers
            msg_id = h.get("webhook-id", "")
            stamp = h.get("webhook-timestamp", "")
            ok = self._verified(msg_id, stamp, h.get("webhook-signature", ""), body)
            if self.delay_s:
                time.sleep(self.delay_s)  # blocks this server thread: fine for tests
            with self._lock:
                self.received.append(
                    Received(path, msg_id, int(stamp) if stamp.isdigit() else -1, body, ok, dict(h))
                )
                status = self.script.pop(0) if self.script else 200
            return Response(
                b"x" * self.answer_bytes, status_code=status, headers=self.extra_headers
            )

        return app


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver served on 127.0.0.1; its ``url`` ends in ``/hook``."""
    receiver = Receiver()
    with BackgroundServer(receiver.app()) as base:
        receiver.url = base + "/hook"
        yield receiver
