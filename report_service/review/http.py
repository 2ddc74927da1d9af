"""What the review routers (and the escalation routers that share review's moderators)
share: the bearer-token caller, the review service of the running app, the documented
error answers, and the bounds of path and query parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from report_service.errors import StorageError
from report_service.review.core import Actor
from report_service.review.service import ReviewService

S = TypeVar("S")

_bearer = HTTPBearer(auto_error=False, description="A moderator token (`frankly moderators add`).")


class ErrorBody(BaseModel):
    """``{"code", "message"}``."""

    code: str
    message: str


class ErrorOut(BaseModel):
    """Every error answer."""

    error: ErrorBody


def _err(description: str, code: str) -> dict[str, Any]:
    return {
        "model": ErrorOut,
        "description": description,
        "content": {"application/json": {"example": {"error": {"code": code, "message": "..."}}}},
    }

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _err("No, unknown or revoked moderator token.", "unauthorized"),
    403: _err("The caller's role may not make this call.", "forbidden"),
}

ITEM_ERRORS: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    404: _err("No such item, or a child-safety item seen by another role.", "not_found"),
    409: _err("The call needs the caller's live lease on the item.", "lease_required"),
}

# A POST body that is not JSON at all is refused before validation (400 `bad_request`).
BAD_BODY: dict[int | str, dict[str, Any]] = {
    400: _err("The body is not valid JSON.", "bad_request"),
}

BANK_DOWN = _err("No hash bank is configured, so media cannot be banked.", "bank_unavailable")

DESTROYED = _err(
    "The evidence holding this medium was destroyed (`frankly evidence destroy` or `purge`).",
    "evidence_destroyed",
)


def mount(app: FastAPI, routes: APIRouter, name: str, service: object) -> None:
    """Keep ``service`` as ``app.state.<name>`` and mount ``routes`` on ``app`` (the
    ``install`` of review and of each escalation feature that shares its moderators)."""
    setattr(app.state, name, service)
    app.include_router(routes)


def state_service(name: str, kind: type[S], what: str) -> Callable[[Request], S]:
    """A dependency giving the running app's ``app.state.<name>`` (a ``kind``).

    The dependency raises :class:`StorageError` ("the <what> service is not
    configured") when the app was built without one.
    """

    def get_service(request: Request) -> S:
        service = getattr(request.app.state, name, None)
        if not isinstance(service, kind):
            raise StorageError(f"the {what} service is not configured")
        return service

    get_service.__doc__ = f"The {what} service of the running app."
    return get_service

get_service = state_service("review", ReviewService, "review")

Service = Annotated[ReviewService, Depends(get_service)]


def get_actor(
    service: Service,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The authenticated moderator.

    Raises:
        AuthError: no or bad token.
    """
    return service.authenticate(None if credentials is None else credentials.credentials)

Caller = Annotated[Actor, Depends(get_actor)]

# Bounds stop what the database would refuse (an error, not an answer): item ids are
# 32-bit INTEGER on PostgreSQL, times and sequence numbers 64-bit, and PostgreSQL text
# holds no NUL character.
MAX_ITEM_ID = 2**31 - 1

MIN_INT64, MAX_INT64 = -(2**63), 2**63 - 1

NO_CONTROL = r"^[^\x00-\x1f]*$"

ItemId = Annotated[int, Path(ge=1, le=MAX_ITEM_ID, description="Review item id.")]

Sha256 = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="Attachment SHA-256 (hex).")]

KeyframeIndex = Annotated[int, Path(ge=0, le=15, description="Keyframe number, from 0.")]

QueueParam = Annotated[str, Path(description="`general` or `child_safety`.")]

NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
