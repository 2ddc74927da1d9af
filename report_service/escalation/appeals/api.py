"""Routes of statements and appeals.

For the reported user and for reporters (their own user token, like every ``/v1`` call):
``GET /v1/statements``, ``POST /v1/appeals`` (``statement_id`` or ``report_id``),
``GET /v1/appeals/{id}``. For moderators
(their moderator token): ``GET /v1/review/appeals``, ``POST /v1/review/appeals/claim``,
``POST /v1/review/appeals/{id}/claim``, ``GET /v1/review/appeals/{id}/item``,
``POST /v1/review/appeals/{id}/decision``. The
service object is ``app.state.appeals`` (:func:`install`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query
from starlette.concurrency import run_in_threadpool

from report_service.api.deps import CurrentUser
from report_service.escalation.appeals import schemas
from report_service.escalation.appeals.service import AppealsService
from report_service.review.http import AUTH_ERRORS, BAD_BODY, Caller, _err, mount, state_service
from report_service.review.items.schemas import ItemDetailOut

router = APIRouter(prefix="/v1")


def install(app: FastAPI, service: AppealsService) -> None:
    """Mount the routes on ``app`` and give them ``service``."""
    mount(app, router, "appeals", service)


get_service = state_service("appeals", AppealsService, "appeals")
Service = Annotated[AppealsService, Depends(get_service)]
AppealId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Appeal id.")]
USER_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _err("No or unknown bearer token.", "unauthorized")
}
APPEAL_CONFLICTS = _err(
    "An appeal is already open (`appeal_exists`), the six months have passed "
    "(`appeal_window_closed`), or the statement no longer stands, the report is not "
    "decided, or the decision was already reviewed on appeal (`not_appealable`).",
    "appeal_exists",
)
DECIDER = _err(
    "The caller made the decision under appeal (`decider_excluded`), holds no claim "
    "(`lease_required`), or the appeal is decided or held (`invalid_state`).",
    "decider_excluded",
)


@router.get(
    "/statements",
    response_model=schemas.StatementsOut,
    responses=USER_ERRORS,
    tags=["appeals"],
)
async def statements(service: Service, user: CurrentUser) -> schemas.StatementsOut:
    """The statements of reasons about the caller's messages (DSA Art. 17), newest
    first: the decision in plain words, which message (id and time), whether it still
    stands, until when it can be appealed, and the exact copy sent to the EU Transparency
    Database (which holds no personal data)."""
    return await run_in_threadpool(service.statements_of, user)


@router.post(
    "/appeals",
    status_code=201,
    response_model=schemas.AppealOut,
    responses={
        **USER_ERRORS,
        **BAD_BODY,
        404: _err("No such statement or report of yours.", "not_found"),
        409: APPEAL_CONFLICTS,
        422: _err("Bad body or reason.", "invalid_request"),
    },
    tags=["appeals"],
)
async def file_appeal(
    service: Service, user: CurrentUser, body: schemas.AppealIn
) -> schemas.AppealOut:
    """Appeal a decision (DSA Art. 20) within six months, with a reason of at most 2000
    characters; a moderator other than the one who decided reviews it. With
    `statement_id`: the reported user appeals the decision behind one of their
    statements (one appeal per decision). With `report_id`: the reporter complains about
    the decision on their own decided report (one complaint per reporter and decision);
    a reversal sends the reported message back to review for a fresh decision. Exactly
    one of the two (422 otherwise)."""
    if body.report_id is not None:
        return await run_in_threadpool(service.file_complaint, user, body.report_id, body.reason)
    assert body.statement_id is not None  # AppealIn: exactly one of the two
    return await run_in_threadpool(service.file_appeal, user, body.statement_id, body.reason)


@router.get(
    "/appeals/{appeal_id}",
    response_model=schemas.AppealOut,
    response_model_exclude_none=True,
    responses={**USER_ERRORS, 404: _err("No such appeal of yours.", "not_found")},
    tags=["appeals"],
)
async def get_appeal(service: Service, user: CurrentUser, appeal_id: AppealId) -> schemas.AppealOut:
    """Where the caller's appeal stands, and its outcome and reason once decided."""
    return await run_in_threadpool(service.appeal_of, user, appeal_id)


@router.get(
    "/review/appeals",
    response_model=schemas.AppealsReviewOut,
    responses=AUTH_ERRORS,
    tags=["review"],
)
def review_appeals(
    service: Service,
    actor: Caller,
    all_: Annotated[bool, Query(alias="all", description="Include decided appeals.")] = False,
) -> schemas.AppealsReviewOut:
    """Appeals waiting or held (with `all=true`, decided ones too), oldest first;
    child-safety appeals only for the child_safety role."""
    return service.review_list(actor, include_decided=all_)


@router.post(
    "/review/appeals/claim",
    response_model=schemas.AppealReviewOut,
    responses={
        **AUTH_ERRORS,
        **BAD_BODY,
        404: _err("Nothing to claim (`queue_empty`).", "queue_empty"),
    },
    tags=["review"],
)
def claim_next_appeal(
    service: Service,
    actor: Caller,
    body: Annotated[schemas.AppealClaimIn | None, Body()] = None,
) -> schemas.AppealReviewOut:
    """Claim the oldest waiting appeal against a decision the caller did not make, under
    a lease (default 10 minutes). Audited (`appeal_claim`)."""
    return service.claim(actor, None, None if body is None else body.lease_ms)


@router.post(
    "/review/appeals/{appeal_id}/claim",
    response_model=schemas.AppealReviewOut,
    responses={**AUTH_ERRORS, **BAD_BODY, 404: _err("No such appeal.", "not_found"), 409: DECIDER},
    tags=["review"],
)
def claim_appeal(
    service: Service,
    actor: Caller,
    appeal_id: AppealId,
    body: Annotated[schemas.AppealClaimIn | None, Body()] = None,
) -> schemas.AppealReviewOut:
    """Claim one appeal. The moderator who made the decision never may (409
    `decider_excluded`). Audited (`appeal_claim`)."""
    return service.claim(actor, appeal_id, None if body is None else body.lease_ms)


@router.get(
    "/review/appeals/{appeal_id}/item",
    response_model=ItemDetailOut,
    responses={**AUTH_ERRORS, 404: _err("No such appeal.", "not_found"), 409: DECIDER},
    tags=["review"],
)
def appeal_item(service: Service, actor: Caller, appeal_id: AppealId) -> ItemDetailOut:
    """The item under appeal (verified facts, transcript, reporters' words, history) for
    the moderator holding the appeal; never the decider. Audited (`item_view`)."""
    return service.item_view(actor, appeal_id)


@router.post(
    "/review/appeals/{appeal_id}/decision",
    response_model=schemas.AppealReviewOut,
    responses={
        **AUTH_ERRORS,
        **BAD_BODY,
        404: _err("No such appeal.", "not_found"),
        409: DECIDER,
        422: _err("Bad outcome or reason.", "invalid_input"),
    },
    tags=["review"],
)
def decide_appeal(
    service: Service, actor: Caller, appeal_id: AppealId, body: schemas.AppealDecisionIn
) -> schemas.AppealReviewOut:
    """`uphold` or `reverse` the claimed appeal with a reason (at least 10 characters).
    A reversal records a `no_violation` decision on the item, withdraws an unsent
    statement and queues a corrected one for the EU database. Audited (`appeal_decide`)."""
    return service.decide(actor, appeal_id, body.outcome, body.reason)
