"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from report_service.api.schemas import Health, error_responses
from report_service.errors import AuthError, StorageError

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness: the database answers",
    responses=error_responses(503),
)
async def readyz(request: Request) -> Health:
    def ping() -> None:
        try:
            with request.app.state.session_factory() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            raise StorageError("database unreachable") from exc

    await run_in_threadpool(ping)
    return Health(status="ready")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Text exposition format. Requires FRANKLY_METRICS_TOKEN as a bearer token "
    "when it is set; without one, answers only while the service is bound to loopback "
    "(FRANKLY_HOST / `frankly serve --host`), and 401 otherwise.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, **error_responses(401)},
)
async def metrics(request: Request) -> Response:
    settings = request.app.state.settings
    token = settings.metrics_token
    if token is not None:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            raise AuthError("metrics token required")
    elif not settings.loopback_only:
        # Counters by status and rejection code tell an outsider what others are doing:
        # beyond loopback they are served only to the holder of the token.
        raise AuthError("metrics need FRANKLY_METRICS_TOKEN when bound beyond loopback")
    body = await run_in_threadpool(request.app.state.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
