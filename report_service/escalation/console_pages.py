"""The escalation pages of the moderator console: CyberTipline reports and preservation
holds, under ``/console`` beside the review pages.

The console never imports escalation (tests/test_architecture.py); ``report_service.app``
passes :data:`router` and :data:`NAV` to :func:`report_service.console.pages.install`.
Each handler reads its form or query, calls one method of the service the JSON API's
routes call (:class:`~.ncmec.service.NcmecService`, :class:`~.preservation.service.HoldService`),
so the role checks, the rule that the deciding moderator cannot approve, and the audit
entries (``ncmec_approve``, ``preservation_hold``, ``preservation_release``) are the
API's; forms are validated with the API's request models.

Errors: as every console page (sign-in redirect, HTML error page with the API's status
and code), except that a refused approval, placement or release renders its page again
with the typed error above the form, at that error's status, with what was typed kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from report_service.console.pages import (
    PREFIX,
    Checked,
    ConsoleRoute,
    Form,
    NavEntry,
    Who,
    is_digits,
    parse_item_id,
    plain_filter,
    render,
    see_other,
)
from report_service.console.sessions import SignedIn
from report_service.errors import RequestRejected, ServiceError
from report_service.escalation.ncmec.api import get_service
from report_service.escalation.ncmec.schemas import ApproveIn, NcmecReportOut
from report_service.escalation.ncmec.service import STATUSES, NcmecService
from report_service.escalation.preservation.router import get_holds
from report_service.escalation.preservation.schemas import ItemHoldIn, ReleaseIn, ReportHoldIn
from report_service.escalation.preservation.service import HoldService
from report_service.http_errors import classify
from report_service.review.decisions.taxonomy import MAX_REASON_CHARS, MIN_REASON_CHARS
from report_service.review.moderators.roles import Permission, allows

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)

NAV: tuple[NavEntry, ...] = (
    ("CyberTipline", "/cybertipline", "e", Permission.CHILD_SAFETY),
    ("Holds", "/holds", "h", Permission.PRESERVE),
)
"""The navigation links of these pages, each for the roles the API lets use it."""

STATUS_LABELS = {
    "prepared": "Prepared, awaiting a safety lead",
    "approved": "Approved, waiting for the submitter",
    "open": "Open at NCMEC (being sent)",
    "submitted": "Submitted",
    "failed": "Failed",
    "withdrawn": "Withdrawn",
}
CLASSIFICATIONS = ("A1", "A2", "B1", "B2")
APPROVABLE = ("prepared", "failed")
FLASH = {
    "approved": "Report approved. The submitter sends it on its next pass.",
    "hold_released": "Hold released. Its record stays.",
}
FILE_FIELD = "file_"

Ncmec = Annotated[NcmecService, Depends(get_service)]
Holds = Annotated[HoldService, Depends(get_holds)]


def _invalid(exc: ValidationError) -> RequestRejected:
    """The console's 422 for a form the API's request model refuses (first problem)."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ()))
    return RequestRejected(
        f"{field or 'the form'}: {first.get('msg', 'invalid')}", code="invalid_input", status=422
    )


def _failure(exc: ServiceError) -> tuple[int, dict[str, str]]:
    status, code, message, _ = classify(exc)
    if status >= 500:
        message = "the service cannot answer right now"
    return status, {"code": code, "message": message}


# ---------------------------------------------------------------------------- CyberTipline


@router.get("/cybertipline")
def cybertipline_list(request: Request, ncmec: Ncmec, who: Who) -> Response:
    """CyberTipline reports, newest first, optionally of one status (child_safety and
    safety_lead, as ``GET /v1/review/ncmec``)."""
    status = request.query_params.get("status", "") or None
    if status is not None and status not in STATUSES:
        raise RequestRejected("no such status", code="invalid_input", status=422)
    reports = ncmec.list(who.actor, status).reports
    return render(
        request,
        "cybertipline.html",
        who,
        reports=reports,
        current=status,
        statuses=STATUSES,
        status_labels=STATUS_LABELS,
        flash=FLASH.get(request.query_params.get("msg", "")),
    )


def _report_page(
    request: Request,
    ncmec: NcmecService,
    who: SignedIn,
    report_id: int,
    *,
    status: int = 200,
    failure: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    report: NcmecReportOut = ncmec.show(who.actor, report_id)
    may_approve = allows(who.actor.role, Permission.APPROVE_NCMEC) and report.status in APPROVABLE
    return render(
        request,
        "cybertipline_report.html",
        who,
        status=status,
        r=report,
        status_labels=STATUS_LABELS,
        classifications=CLASSIFICATIONS,
        may_approve=may_approve,
        own_decision=report.prepared_by == who.actor.name,
        failure=failure,
        typed=typed or {},
        flash=FLASH.get(request.query_params.get("msg", "")),
    )


@router.get("/cybertipline/{report_id}")
def cybertipline_report(request: Request, report_id: str, ncmec: Ncmec, who: Who) -> Response:
    """What will be (or was) sent: incident, person reported, files as hashes and
    classifications (never the media), NCMEC's ids, the last error; the approval form
    for a safety lead while the report is prepared or failed."""
    return _report_page(request, ncmec, who, parse_item_id(report_id))


def _approve_body(form: dict[str, str]) -> ApproveIn:
    """The API's :class:`ApproveIn` from the approval form (empty fields: not given).

    Raises:
        RequestRejected: a value the model refuses (422).
    """
    fields: dict[str, Any] = {
        "file_classifications": {
            key.removeprefix(FILE_FIELD): value
            for key, value in form.items()
            if key.startswith(FILE_FIELD) and value
        },
        "publicly_available": form.get("publicly_available") == "on",
    }
    if form.get("classification"):
        fields["classification"] = form["classification"]
    if form.get("screen_name", "").strip():
        fields["screen_name"] = form["screen_name"].strip()
    if form.get("escalate_to_high_priority", "").strip():
        fields["escalate_to_high_priority"] = form["escalate_to_high_priority"].strip()
    try:
        return ApproveIn.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc) from None


@router.post("/cybertipline/{report_id}/approve")
def cybertipline_approve(
    request: Request, report_id: str, ncmec: Ncmec, who: Checked, form: Form
) -> Response:
    """Approve a prepared report, or a failed one again (a retry), with the fields of the
    API's ``ApproveIn`` (safety_lead, not the moderator who decided; audited
    ``ncmec_approve``). A refusal shows the report again with the typed error."""
    rid = parse_item_id(report_id)
    try:
        ncmec.approve(who.actor, rid, _approve_body(form))
    except ServiceError as exc:
        status, failure = _failure(exc)
        return _report_page(request, ncmec, who, rid, status=status, failure=failure, typed=form)
    return see_other(f"/cybertipline/{rid}", msg="approved")


# ---------------------------------------------------------------------------- holds


def _holds_page(
    request: Request,
    holds: HoldService,
    who: SignedIn,
    *,
    status: int = 200,
    failure: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    placed: Any = None,
    failed_release: int | None = None,
) -> Response:
    q = request.query_params
    show_all = q.get("all") == "1"
    report_id = plain_filter(q.get("report_id", ""), 64)
    found = holds.holds(who.actor, include_inactive=show_all, report_id=report_id)
    return render(
        request,
        "holds.html",
        who,
        status=status,
        holds=found,
        show_all=show_all,
        report_id=report_id or "",
        now=request.app.state.clock(),
        days_default=request.app.state.settings.preservation_days,
        min_reason=MIN_REASON_CHARS,
        max_reason=MAX_REASON_CHARS,
        failure=failure,
        typed=typed or {},
        placed=placed,
        failed_release=failed_release,
        flash=FLASH.get(q.get("msg", "")),
    )


@router.get("/holds")
def holds_list(request: Request, holds: Holds, who: Who) -> Response:
    """Active preservation holds (``all=1``: also released and expired ones; ``report_id``:
    of one report) with the place and release forms (lead, admin)."""
    return _holds_page(request, holds, who)


def _hold_body(form: dict[str, str]) -> ReportHoldIn | ItemHoldIn:
    """The API's request model from the place form.

    Raises:
        RequestRejected: a bad target, reason, period or reference (422).
    """
    days_text = form.get("days", "").strip()
    days: int | str | None
    if form.get("indefinite") == "on":
        days = "indefinite"
    elif not days_text:
        days = None
    elif is_digits(days_text, 6):
        days = int(days_text)
    else:
        raise RequestRejected("days is a whole number", code="invalid_input", status=422)
    fields: dict[str, Any] = {"reason": form.get("reason", "").strip(), "days": days}
    if form.get("reference", "").strip():
        fields["reference"] = form["reference"].strip()
    target = form.get("target", "").strip()
    try:
        if form.get("kind") == "item":
            return ItemHoldIn.model_validate({**fields, "item_id": parse_item_id(target)})
        if form.get("kind") == "report":
            return ReportHoldIn.model_validate({**fields, "report_id": target})
    except ValidationError as exc:
        raise _invalid(exc) from None
    raise RequestRejected("hold a report or an item", code="invalid_input", status=422)


@router.post("/holds")
def holds_place(request: Request, holds: Holds, who: Checked, form: Form) -> Response:
    """Place a manual hold on a report or on each report of a review item, with a reason
    (lead, admin; audited ``preservation_hold``); the answer lists what is now held."""
    try:
        body = _hold_body(form)
        placed = holds.place(
            who.actor,
            str(body.item_id) if isinstance(body, ItemHoldIn) else body.report_id,
            body.reason,
            item=isinstance(body, ItemHoldIn),
            days=None if body.days == "indefinite" else body.days,
            indefinite=body.days == "indefinite",
            reference=body.reference,
        )
    except ServiceError as exc:
        status, failure = _failure(exc)
        return _holds_page(request, holds, who, status=status, failure=failure, typed=form)
    return _holds_page(request, holds, who, status=201, placed=placed)


@router.post("/holds/{hold_id}/release")
def holds_release(
    request: Request, hold_id: str, holds: Holds, who: Checked, form: Form
) -> Response:
    """Release a hold with a reason (lead, admin; audited ``preservation_release``); an
    NCMEC hold in its statutory year needs the override box."""
    hid = parse_item_id(hold_id)
    try:
        try:
            body = ReleaseIn(
                reason=form.get("reason", "").strip(), force_before_expiry=form.get("force") == "on"
            )
        except ValidationError as exc:
            raise _invalid(exc) from None
        holds.release(who.actor, hid, body.reason, force=body.force_before_expiry)
    except ServiceError as exc:
        status, failure = _failure(exc)
        return _holds_page(
            request, holds, who, status=status, failure=failure, typed=form, failed_release=hid
        )
    return see_other("/holds", msg="hold_released")


__all__ = ["NAV", "router"]
