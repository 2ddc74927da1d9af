"""Request body size limit enforced while the body streams in.

The limit is checked against ``Content-Length`` before anything is read, and against the
bytes actually received as each chunk arrives, so a chunked or lying client is cut off at
the limit instead of after the whole body is buffered. The answer is 413
``body_too_large`` in the contract's JSON error form.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from report_service.errors import BodyTooLarge
from report_service.http_errors import error_response


class _Exceeded(BodyTooLarge):
    pass


class BodyLimitMiddleware:
    """Refuse bodies larger than ``limit_for(path)`` bytes with 413."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def _send_413(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        exc = BodyTooLarge(f"the request body exceeds {limit} bytes")
        response = error_response(Request(scope), exc)
        response.headers["connection"] = "close"
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    await self._send_413(scope, receive, send, limit)
                    return
        received = 0
        exceeded = False
        replaced = False
        passthrough = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _Exceeded(f"the request body exceeds {limit} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replaced, passthrough
            if exceeded and not passthrough:
                # Whatever the app answers after the cut-off (a 400 parse error, a 500) is
                # replaced by the 413, unless it is the 413 already.
                if message["type"] == "http.response.start":
                    if message["status"] == 413:
                        passthrough = True
                        replaced = True
                        await send(message)
                    elif not replaced:
                        replaced = True
                        await self._send_413(scope, receive, send, limit)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _Exceeded:
            if not replaced:
                replaced = True
                await self._send_413(scope, receive, send, limit)
