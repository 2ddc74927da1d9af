"""``/v1/keys/report`` and ``/v1/reports``: report intake and status."""

from __future__ import annotations

import base64
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from client_scan.errors import ReportFormatError
from client_scan.report_format import normalise_report_id
from report_service.api.deps import CurrentReporter, CurrentUser
from report_service.api.schemas import (
    ReportAccepted,
    ReportKeyResponse,
    ReportStatus,
    error_responses,
)
from report_service.errors import NotFound, RateLimited, UnsupportedMediaType
from report_service.intake import Answer, Intake
from report_service.ratelimit import SharedRateLimiter
from report_service.storage.reports import report_status

router = APIRouter(tags=["reports"])

SEALED_CONTENT_TYPE = "application/octet-stream"


@router.get(
    "/v1/keys/report",
    response_model=ReportKeyResponse,
    summary="The report-sealing public key",
    description="X25519 public key (base64) and its id; clients seal reports to it and "
    "may pin it by id. No authentication.",
)
async def report_key(request: Request) -> ReportKeyResponse:
    key = request.app.state.keys.active_sealing
    return ReportKeyResponse(
        key_id=key.kid, public_key=base64.b64encode(key.public_key).decode("ascii")
    )


@router.post(
    "/v1/reports",
    status_code=201,
    response_model=ReportAccepted,
    summary="Submit a sealed report",
    description="The body is the report JSON sealed with crypto_box_seal to the key of "
    "GET /v1/keys/report, sent as application/octet-stream. 201 the first time; the same "
    "report_id again answers 200 with the first answer and stores nothing new. Every "
    "verification failure is a 422 naming the code and the failing message.",
    responses={
        200: {"model": ReportAccepted, "description": "A repeat of a stored report"},
        **error_responses(400, 401, 409, 413, 415, 422, 429, 503),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {SEALED_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def submit_report(request: Request, reporter: CurrentReporter) -> JSONResponse:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != SEALED_CONTENT_TYPE:
        raise UnsupportedMediaType(f"send the sealed report as {SEALED_CONTENT_TYPE}")
    state = request.app.state
    limiter: SharedRateLimiter = state.rate_limiter
    user, now_ms = reporter.user_id, state.clock()
    # A caller already over its limit (read with its token) costs no more than that;
    # the exact count is taken later, in one write transaction per request.
    limiter.refuse_if_over(reporter.tat_us, now_ms)
    try:
        sealed = await request.body()  # BodyLimitMiddleware cuts it off at the limit
    except Exception:  # a body over the limit (413) counts like any other refusal
        await run_in_threadpool(limiter.check, user, now_ms)
        raise
    intake: Intake = state.intake
    answer = await run_in_threadpool(_submit_counted, intake, limiter, user, sealed, now_ms)
    return JSONResponse(dict(answer.body), status_code=answer.status)


def _submit_counted(
    intake: Intake, limiter: SharedRateLimiter, user: str, sealed: bytes, now_ms: int
) -> Answer:
    """Submit, counting the request against ``user``'s limit exactly once: a stored report
    (201) in its own storing transaction (one write transaction per accepted report; a
    refusal there rolls it back and answers 429); any other answer (a repeat's 200, a 4xx)
    in a short transaction of its own, which may turn it into the 429 of a caller over its
    limit, as if the limiter had run first."""
    try:
        answer = intake.submit(user, sealed, admit=partial(limiter.take, key=user, now_ms=now_ms))
    except RateLimited:
        raise  # refused by the exact count: nothing stored, nothing more to count
    except Exception:
        limiter.check(user, now_ms)
        raise
    if answer.status != 201:
        limiter.check(user, now_ms)
    return answer


@router.get(
    "/v1/reports/{report_id}",
    response_model=ReportStatus,
    response_model_exclude_none=True,
    summary="Status and outcome of one's own report",
    description="Answers the reporter only; anyone else gets 404, so that the existence "
    "of a report does not leak. Once decided, `notice` says in plain words what was "
    "decided, under which policy, and how to seek redress (DSA Art. 16(5), 17, 20, 21).",
    responses=error_responses(401, 404),
)
async def get_report(
    report_id: Annotated[str, Path(max_length=64)], user: CurrentUser, request: Request
) -> ReportStatus:
    try:
        # Stored ids are canonical UUIDs; anything else (a NUL character, which PostgreSQL
        # refuses to compare) names no report: the same 404 as someone else's report.
        canonical = normalise_report_id(report_id)
    except ReportFormatError:
        raise NotFound("no such report") from None

    notice = getattr(request.app.state, "report_notice", None)

    def load() -> ReportStatus:
        with request.app.state.session_factory() as session:
            answer = report_status(session, canonical, user)
            if answer["status"] == "decided" and notice is not None:
                # A plain-words notice (DSA Art. 16(5), 17): outcome, policy, redress.
                text = notice(session, canonical, user)
                if text:
                    answer["notice"] = text
            return ReportStatus(**answer)

    return await run_in_threadpool(load)
