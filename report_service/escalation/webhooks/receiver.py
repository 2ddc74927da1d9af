"""A minimal receiver that checks Frankly's webhooks: for the demo, and a starting point
for an integration. It verifies each request with :func:`.signing.verify` (constant-time
comparison, 5-minute timestamp tolerance), drops a ``webhook-id`` it has seen (at least
once delivery), answers 204, and 400 to anything unsigned, altered or too old. Bodies are
read to at most 64 KiB.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from report_service.escalation.webhooks.errors import SignatureInvalid
from report_service.escalation.webhooks.signing import verify

MAX_BODY_BYTES = 64 * 1024


@dataclass
class VerifyingReceiver:
    """Records the events whose signature verifies under ``key``; ``clock_s`` gives the
    receiver's time in seconds."""

    key: bytes = field(repr=False)
    clock_s: Callable[[], int]
    events: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        """The receiver as an ASGI app (``POST`` to any path)."""
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.post("/{path:path}")
        async def receive(path: str, request: Request) -> Response:
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    return Response(status_code=413)
            headers = {k.lower(): v for k, v in request.headers.items()}
            try:
                msg_id = verify(self.key, headers, body, now_s=self.clock_s())
            except SignatureInvalid:
                with self._lock:
                    self.refused += 1
                return Response(status_code=400)
            with self._lock:
                if msg_id not in self.ids:  # idempotency: one event per webhook-id
                    self.ids.append(msg_id)
                    self.events.append(json.loads(body))
            return Response(status_code=204)

        return app
