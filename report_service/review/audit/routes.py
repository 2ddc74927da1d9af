"""Audit routes: ``/v1/audit`` (filtered pages) and ``/v1/audit/verify``, for auditors and admins.

Each route validates its request model, calls one
:class:`~report_service.review.service.ReviewService` method and returns a response
model; errors are mapped by :mod:`report_service.http_errors`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from report_service.review.audit.schemas import AuditPageOut, AuditVerifyOut
from report_service.review.audit.store import AuditFilter
from report_service.review.http import (
    AUTH_ERRORS,
    MAX_INT64,
    MAX_ITEM_ID,
    MIN_INT64,
    NO_CONTROL,
    Caller,
    Service,
)

router = APIRouter(prefix="/v1")



@router.get("/audit", response_model=AuditPageOut, responses=AUTH_ERRORS, tags=["audit"])
def audit(
    service: Service,
    actor: Caller,
    actor_name: Annotated[
        str | None, Query(alias="actor", max_length=64, pattern=NO_CONTROL)
    ] = None,
    action: Annotated[str | None, Query(max_length=32, pattern=NO_CONTROL)] = None,
    item: Annotated[int | None, Query(ge=1, le=MAX_ITEM_ID)] = None,
    since: Annotated[
        int | None,
        Query(ge=MIN_INT64, le=MAX_INT64, description="From this time (ms), inclusive."),
    ] = None,
    until: Annotated[
        int | None,
        Query(ge=MIN_INT64, le=MAX_INT64, description="Up to this time (ms), exclusive."),
    ] = None,
    after: Annotated[
        int, Query(ge=0, le=MAX_INT64, description="Entries after this seq (paging).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPageOut:
    """Audit entries in chain order, filtered by actor, action, item and time; page with
    `after=<next_after>` (auditor, admin)."""
    f = AuditFilter(
        actor=actor_name,
        action=action,
        item_id=item,
        since_ms=since,
        until_ms=until,
        after_seq=after,
        limit=limit,
    )
    return service.audit_page(actor, f)


@router.get(
    "/audit/verify",
    response_model=AuditVerifyOut,
    responses=AUTH_ERRORS,
    tags=["audit"],
)
def audit_verify(service: Service, actor: Caller) -> AuditVerifyOut:
    """Recompute the whole hash chain and compare it with the recorded head; report the
    first broken position (auditor, admin)."""
    return service.audit_verify(actor)
