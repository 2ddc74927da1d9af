"""Decision routes: decide, reopen, and bank a violation's media.

Each route validates its request model, calls one
:class:`~report_service.review.service.ReviewService` method and returns a response
model; errors are mapped by :mod:`report_service.http_errors`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from report_service.review.decisions.schemas import BankIn, BankOut, DecideOut, DecisionIn
from report_service.review.http import (
    BAD_BODY,
    BANK_DOWN,
    ITEM_ERRORS,
    Caller,
    ItemId,
    Service,
    _err,
)
from report_service.review.schemas import ReasonIn, ReleasedOut

router = APIRouter(prefix="/v1")



@router.post(
    "/review/items/{item_id}/decision",
    response_model=DecideOut,
    responses={
        **ITEM_ERRORS,
        **BAD_BODY,
        422: _err("Bad decision, policy or note.", "invalid_input"),
        503: BANK_DOWN,
    },
    tags=["review"],
)
def decide(
    service: Service, actor: Caller, item_id: ItemId, body: DecisionIn
) -> DecideOut:
    """Decide the held item. The lease ends; the reporter sees the outcome through
    `GET /v1/reports/{id}`. `escalate_child_safety` moves the item to the child-safety
    queue instead. With `bank_media`, a violation's image hashes join the service's hash
    bank as a new signed list version. Audited (`decide`, `bank_media`)."""
    return service.decide(
        actor, item_id, body.decision, body.policy, body.note, bank_media=body.bank_media
    )


@router.post(
    "/review/items/{item_id}/reopen",
    response_model=ReleasedOut,
    responses={
        **ITEM_ERRORS,
        **BAD_BODY,
        409: _err("The item is not decided.", "invalid_state"),
    },
    tags=["review"],
)
def reopen(
    service: Service, actor: Caller, item_id: ItemId, body: ReasonIn
) -> ReleasedOut:
    """Reopen a decided item (lead only), with a stated reason. Audited (`reopen`)."""
    return service.reopen(actor, item_id, body.reason)


@router.post(
    "/review/items/{item_id}/bank",
    response_model=BankOut,
    responses={
        **ITEM_ERRORS,
        **BAD_BODY,
        409: _err(
            "The standing decision is not a violation (`invalid_state`), or the caller "
            "may not bank it without an override (`lease_required`).",
            "lease_required",
        ),
        503: BANK_DOWN,
    },
    tags=["review"],
)
def bank(
    service: Service,
    actor: Caller,
    item_id: ItemId,
    body: Annotated[BankIn | None, Body()] = None,
) -> BankOut:
    """Bank the PDQ hashes of a decided violation's images. Banking belongs to a decision
    made under the lease (`bank_media`); this call retries it for the decider, or is a
    lead's override with a stated `reason`. Audited (`bank_media`)."""
    return service.bank(actor, item_id, None if body is None else body.reason)
