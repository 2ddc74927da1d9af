"""The one place where errors become HTTP answers.

Every error answer is ``{"error": {"code", "message", "message_index"?}}``. Domain code
never raises ``HTTPException``; it raises :mod:`report_service.errors` or
:mod:`client_scan.errors` exceptions, mapped here. Unexpected exceptions become a bare
500 ``internal_error`` whose message says nothing about the cause; the log line carries
the exception type and request id only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from client_scan.errors import (
    ClientScanError,
    FrankingError,
    InvalidInput,
    ReportFormatError,
    ReportLimitExceeded,
    SealError,
)
from report_service.errors import (
    AuthError,
    Conflict,
    EvidenceDestroyed,
    NotFound,
    QuotaExceeded,
    RateLimited,
    RequestRejected,
    ServiceError,
    StorageError,
)
from report_service.observability import logger

SEMANTIC_FORMAT_CODES = frozenset({"reported_unknown", "duplicate_message"})
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str, message_index: int | None = None) -> dict[str, Any]:
    """The JSON error object of the HTTP contract."""
    err: dict[str, Any] = {"code": code, "message": message}
    if message_index is not None:
        err["message_index"] = message_index
    return {"error": err}


def classify(exc: BaseException) -> tuple[int, str, str, int | None]:
    """Map an exception to ``(status, code, message, message_index)``."""
    if isinstance(exc, FrankingError):
        return 422, exc.code, exc.detail, exc.message_index
    if isinstance(exc, ReportLimitExceeded):
        return 422, exc.code, exc.detail, None
    if isinstance(exc, ReportFormatError):
        status = 422 if exc.code in SEMANTIC_FORMAT_CODES else 400
        return status, exc.code, exc.detail, None
    if isinstance(exc, SealError):
        return 400, SealError.code, "the body is not a report sealed to this service's key", None
    if isinstance(exc, InvalidInput):
        return 400, "invalid_input", str(exc), None
    if isinstance(exc, ClientScanError):
        return 400, "invalid_input", "the input is malformed", None
    if isinstance(exc, RequestRejected):
        return exc.status, exc.code, exc.detail, None
    if isinstance(exc, QuotaExceeded):
        return 429, exc.quota_code, str(exc), None
    if isinstance(exc, RateLimited):
        return 429, RateLimited.code, str(exc), None
    if isinstance(exc, AuthError):
        return 401, "unauthorized", "a valid bearer token is required", None
    if isinstance(exc, NotFound):
        return 404, "not_found", "not found", None
    if isinstance(exc, Conflict):
        return 409, "conflict", str(exc), None
    if isinstance(exc, EvidenceDestroyed):
        return 410, "evidence_destroyed", "the evidence of this report was destroyed", None
    if isinstance(exc, StorageError | OperationalError):
        return 503, "unavailable", "the service cannot reach its database", None
    return 500, "internal_error", "internal error", None


def error_response(request: Request, exc: BaseException) -> JSONResponse:
    """The JSON error answer for ``exc`` (also counts report rejections and logs)."""
    status, code, message, index = classify(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_whole_s)
    if isinstance(exc, AuthError):
        headers["WWW-Authenticate"] = "Bearer"
    if request.method == "POST" and request.url.path == "/v1/reports":
        metrics = getattr(request.app.state, "metrics", None)
        if metrics is not None:
            metrics.reports_rejected.labels(code).inc()
    if status >= 500:
        logger().error("request failed", extra={"code": code, "exc_type": type(exc).__name__})
    else:
        logger().info("request rejected", extra={"code": code, "status": status})
    return JSONResponse(error_body(code, message, index), status_code=status, headers=headers)


async def _domain_handler(request: Request, exc: Exception) -> JSONResponse:
    return error_response(request, exc)


MAX_VALIDATION_ERRORS_SHOWN = 5


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """``field: what is wrong`` for each refused field, e.g. ``body.decision: Input should
    be 'remove', 'keep' or 'escalate_legal'`` (pydantic names the allowed values and
    limits; the input itself is never echoed: it may be a secret)."""
    parts = []
    for err in errors[:MAX_VALIDATION_ERRORS_SHOWN]:
        loc = [str(p) for p in err.get("loc", ())]
        where = ".".join(loc) or "request"
        msg = str(err.get("msg", "invalid"))
        if err.get("type") == "json_invalid":
            detail = (err.get("ctx") or {}).get("error")
            where = "body" if loc[:1] == ["body"] else where
            at = f" at character {loc[1]}" if len(loc) > 1 else ""
            msg = f"not valid JSON{at}" + (f" ({detail})" if detail else "")
        elif err.get("type") == "missing":
            msg = "required"
        parts.append(f"{where}: {msg}")
    more = len(errors) - MAX_VALIDATION_ERRORS_SHOWN
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts) or "the request does not match its schema"


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    message = f"invalid request: {describe_validation_errors(errors)}"
    return error_response(request, RequestRejected(message, code="invalid_request", status=422))


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
    code = _HTTP_CODES.get(status, "http_error")
    detail = exc.detail if isinstance(exc, StarletteHTTPException) else "error"
    response = error_response(request, RequestRejected(str(detail), code=code, status=status))
    if isinstance(exc, StarletteHTTPException) and exc.headers:
        response.headers.update(exc.headers)  # e.g. the Allow header of a 405
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Register every mapping above on ``app``."""
    app.add_exception_handler(ServiceError, _domain_handler)
    app.add_exception_handler(ClientScanError, _domain_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)


class CatchAllMiddleware:
    """Turn any exception that escaped the handlers into a 500 ``internal_error`` (or, if
    the answer had already started, just end it), logging the exception type only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            logger().error("unhandled error", extra={"exc_type": type(exc).__name__})
            if started:
                return
            request = Request(scope)
            response = error_response(request, exc)
            await response(scope, receive, send)
