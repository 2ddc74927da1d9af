"""``/v1/review/ncmec``: CyberTipline reports for the child-safety team.

The same moderator bearer tokens as the rest of review. ``child_safety`` and
``safety_lead`` list and read reports; only ``safety_lead`` approves. Each route
validates its input, calls one :class:`~.service.NcmecService` method and returns its
model; errors go through :mod:`report_service.http_errors`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query

from report_service.escalation.ncmec.schemas import ApproveIn, NcmecReportOut, NcmecReportsOut
from report_service.escalation.ncmec.service import STATUSES, NcmecService
from report_service.review.http import (
    AUTH_ERRORS,
    BAD_BODY,
    MAX_ITEM_ID,
    Caller,
    _err,
    mount,
    state_service,
)

router = APIRouter(prefix="/v1/review/ncmec", tags=["ncmec"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _err("No such CyberTipline report.", "not_found")
}
ReportId = Annotated[int, Path(ge=1, le=MAX_ITEM_ID, description="Frankly's report number.")]


def install(app: FastAPI, service: NcmecService) -> None:
    """Mount the router on ``app`` with ``service``."""
    mount(app, router, "ncmec", service)


get_service = state_service("ncmec", NcmecService, "CyberTipline")
Service = Annotated[NcmecService, Depends(get_service)]


@router.get("", response_model=NcmecReportsOut, responses=AUTH_ERRORS)
def list_reports(
    service: Service,
    actor: Caller,
    status: Annotated[
        str | None, Query(description=f"only reports of this status: {', '.join(STATUSES)}")
    ] = None,
) -> NcmecReportsOut:
    """CyberTipline reports, newest first, with where each submission stands."""
    return service.list(actor, status)


@router.get("/{report_id}", response_model=NcmecReportOut, responses={**AUTH_ERRORS, **NOT_FOUND})
def show_report(service: Service, actor: Caller, report_id: ReportId) -> NcmecReportOut:
    """One report: incident, reported user, files, NCMEC's ids, errors."""
    return service.show(actor, report_id)


@router.post(
    "/{report_id}/approve",
    response_model=NcmecReportOut,
    responses={
        **AUTH_ERRORS,
        **BAD_BODY,
        **NOT_FOUND,
        409: _err("The report is not prepared or failed.", "invalid_state"),
    },
)
def approve_report(
    service: Service,
    actor: Caller,
    report_id: ReportId,
    body: Annotated[ApproveIn | None, Body()] = None,
) -> NcmecReportOut:
    """Approve a prepared report for submission to NCMEC (``safety_lead`` only, not the
    moderator who decided). Audited."""
    return service.approve(actor, report_id, body or ApproveIn())
