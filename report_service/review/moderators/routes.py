"""Moderator routes: ``/v1/review/me`` and, for admins, ``/v1/review/moderators``.

Each route validates its request model, calls one
:class:`~report_service.review.service.ReviewService` method and returns a response
model; errors are mapped by :mod:`report_service.http_errors`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from report_service.review.http import AUTH_ERRORS, BAD_BODY, NO_CONTROL, Caller, Service, _err
from report_service.review.moderators.schemas import (
    MeOut,
    ModeratorCreatedOut,
    ModeratorIn,
    ModeratorOut,
    ModeratorsOut,
)

router = APIRouter(prefix="/v1")



@router.get("/review/me", response_model=MeOut, responses=AUTH_ERRORS, tags=["review"])
def me(service: Service, actor: Caller) -> MeOut:
    """Who the token belongs to, its role, and the queues it may see."""
    return service.me(actor)


@router.get(
    "/review/moderators",
    response_model=ModeratorsOut,
    responses=AUTH_ERRORS,
    tags=["accounts"],
)
def list_moderators(service: Service, actor: Caller) -> ModeratorsOut:
    """Every moderator account (admin)."""
    return service.admin_list(actor)


@router.post(
    "/review/moderators",
    response_model=ModeratorCreatedOut,
    status_code=201,
    responses={**AUTH_ERRORS, **BAD_BODY, 409: _err("The name is taken.", "conflict")},
    tags=["accounts"],
)
def add_moderator(
    service: Service, actor: Caller, body: ModeratorIn
) -> ModeratorCreatedOut:
    """Create an account (admin); its token is shown once. Audited (`moderator_add`)."""
    return service.admin_add(actor, body.name, body.role)


@router.delete(
    "/review/moderators/{name}",
    response_model=ModeratorOut,
    responses={
        **AUTH_ERRORS,
        404: _err("No active account of that name.", "not_found"),
        409: _err("It is the last active admin.", "last_admin"),
    },
    tags=["accounts"],
)
def revoke_moderator(
    service: Service,
    actor: Caller,
    name: Annotated[str, Path(min_length=1, max_length=64, pattern=NO_CONTROL)],
) -> ModeratorOut:
    """Revoke an account (admin): its token stops working at once and its leases end.
    The last active admin cannot be revoked (409 `last_admin`). Audited
    (`moderator_revoke`)."""
    return service.admin_revoke(actor, name)
