"""Queue routes: queue depths, claim, the caller's claims, heartbeat and release.

Each route validates its request model, calls one
:class:`~report_service.review.service.ReviewService` method and returns a response
model; errors are mapped by :mod:`report_service.http_errors`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from report_service.review.http import (
    AUTH_ERRORS,
    BAD_BODY,
    ITEM_ERRORS,
    Caller,
    ItemId,
    QueueParam,
    Service,
    _err,
)
from report_service.review.queue.schemas import ClaimIn, ClaimOut, ClaimsOut, QueuesOut
from report_service.review.schemas import LeaseOut, ReleasedOut

router = APIRouter(prefix="/v1")



@router.get(
    "/review/queues", response_model=QueuesOut, responses=AUTH_ERRORS, tags=["review"]
)
def queues(service: Service, actor: Caller) -> QueuesOut:
    """Depth (waiting items, including those whose lease expired), live claims, and the age
    of the oldest waiting item, for each queue the caller's role may see."""
    return service.queues(actor)


@router.post(
    "/review/queues/{queue}/claim",
    response_model=ClaimOut,
    responses={
        **AUTH_ERRORS,
        **BAD_BODY,
        404: _err("No such queue, or nothing to claim (`queue_empty`).", "queue_empty"),
    },
    tags=["review"],
)
def claim(
    service: Service,
    actor: Caller,
    queue: QueueParam,
    body: Annotated[ClaimIn | None, Body()] = None,
) -> ClaimOut:
    """Claim the highest-priority waiting item under an exclusive lease (default 10
    minutes). No two moderators ever hold the same item. Audited (`claim`)."""
    return service.claim(actor, queue, None if body is None else body.lease_ms)


@router.get(
    "/review/claims", response_model=ClaimsOut, responses=AUTH_ERRORS, tags=["review"]
)
def my_claims(service: Service, actor: Caller) -> ClaimsOut:
    """The items the caller holds under a live lease, soonest expiry first."""
    return service.my_claims(actor)


@router.post(
    "/review/items/{item_id}/heartbeat",
    response_model=LeaseOut,
    responses={
        **ITEM_ERRORS,
        **BAD_BODY,
        409: _err("The caller holds no live lease.", "lease_lost"),
    },
    tags=["review"],
)
def heartbeat(
    service: Service,
    actor: Caller,
    item_id: ItemId,
    body: Annotated[ClaimIn | None, Body()] = None,
) -> LeaseOut:
    """Extend the caller's live lease (from now, by the default or the given length)."""
    return service.heartbeat(actor, item_id, None if body is None else body.lease_ms)


@router.post(
    "/review/items/{item_id}/release",
    response_model=ReleasedOut,
    responses={**ITEM_ERRORS, 409: _err("The caller holds no live lease.", "lease_lost")},
    tags=["review"],
)
def release(service: Service, actor: Caller, item_id: ItemId) -> ReleasedOut:
    """Hand the item back to its queue undecided. Audited (`release`)."""
    return service.release(actor, item_id)
