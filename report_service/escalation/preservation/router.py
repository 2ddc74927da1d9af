"""``/v1/review/holds``: preservation holds over HTTP, for leads and admins (the same
operations as ``frankly evidence hold|release|holds``, audited with the caller's name).

Each route validates its body, calls one :class:`~.service.HoldService` method and
returns its model; errors are mapped by :mod:`report_service.http_errors`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from report_service.escalation.preservation.schemas import (
    NO_CONTROL,
    HoldOut,
    HoldsOut,
    ItemHoldIn,
    PlacementOut,
    ReleaseIn,
    ReportHoldIn,
)
from report_service.escalation.preservation.service import HoldService
from report_service.review.http import AUTH_ERRORS, BAD_BODY, MAX_ITEM_ID, Caller, _err

router = APIRouter(prefix="/v1/review/holds", tags=["preservation"])


def get_holds(request: Request) -> HoldService:
    """A hold service on the running app's database, clock and settings."""
    state = request.app.state
    return HoldService(state.session_factory, state.clock, state.settings.preservation_days)


Holds = Annotated[HoldService, Depends(get_holds)]
HoldId = Annotated[int, Path(ge=1, le=MAX_ITEM_ID, description="The hold's id.")]


@router.get("", response_model=HoldsOut, responses=AUTH_ERRORS)
def list_holds(
    holds: Holds,
    actor: Caller,
    all: Annotated[bool, Query(description="Also released and expired holds.")] = False,
    report_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_CONTROL)] = None,
) -> HoldsOut:
    """Preservation holds by id (lead, admin): active ones, or every one with `all`."""
    found = holds.holds(actor, include_inactive=all, report_id=report_id)
    return HoldsOut(holds=[HoldOut.of(h) for h in found])


@router.post(
    "",
    response_model=PlacementOut,
    responses={
        **AUTH_ERRORS,
        **BAD_BODY,
        404: _err("No such report or review item.", "not_found"),
        409: _err("Every report's evidence was already destroyed.", "evidence_destroyed"),
        422: _err("Bad target, reason, period or reference.", "invalid_request"),
    },
)
def place_hold(holds: Holds, actor: Caller, body: ReportHoldIn | ItemHoldIn) -> PlacementOut:
    """Place a manual preservation hold on a report, or on each report of a review item
    (lead, admin): `days` days, until released (`"days": "indefinite"`), or
    `FRANKLY_PRESERVATION_DAYS` days. The same report and `reference` is held once.
    Audited (`preservation_hold`)."""
    item = isinstance(body, ItemHoldIn)
    target = str(body.item_id) if isinstance(body, ItemHoldIn) else body.report_id
    placed = holds.place(
        actor,
        target,
        body.reason,
        item=item,
        days=None if body.days == "indefinite" else body.days,
        indefinite=body.days == "indefinite",
        reference=body.reference,
    )
    return PlacementOut.of(placed)


@router.post(
    "/{hold_id}/release",
    response_model=HoldOut,
    responses={
        **AUTH_ERRORS,
        **BAD_BODY,
        404: _err("No such hold.", "not_found"),
        409: _err(
            "Already released (`hold_released`), or an NCMEC hold in its statutory year "
            "without `force_before_expiry` (`hold_minimum_period`).",
            "hold_minimum_period",
        ),
        422: _err("The reason is missing or too short.", "invalid_request"),
    },
)
def release_hold(holds: Holds, actor: Caller, hold_id: HoldId, body: ReleaseIn) -> HoldOut:
    """Release a preservation hold (lead, admin); the record stays. An NCMEC hold needs
    `force_before_expiry` during its statutory year. Audited (`preservation_release`)."""
    return HoldOut.of(holds.release(actor, hold_id, body.reason, force=body.force_before_expiry))
