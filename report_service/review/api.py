"""The review API: ``/v1/review/...`` for moderators and ``/v1/audit`` for auditors.

Each route validates its request model, calls one :class:`ReviewService` method and
returns a response model; errors are raised as domain exceptions and turned into HTTP
answers by :mod:`report_service.http_errors`. The service object is taken from
``app.state.review`` (see :func:`install`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Depends, FastAPI, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from report_service.errors import StorageError
from report_service.review import schemas
from report_service.review.audit.store import AuditFilter
from report_service.review.core import Actor
from report_service.review.service import ReviewService

router = APIRouter(prefix="/v1")
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


def install(app: FastAPI, service: ReviewService) -> None:
    """Mount the router on ``app`` and give it ``service``."""
    mount(app, router, "review", service)


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


@router.get("/review/me", response_model=schemas.MeOut, responses=AUTH_ERRORS, tags=["review"])
def me(service: Service, actor: Caller) -> schemas.MeOut:
    """Who the token belongs to, its role, and the queues it may see."""
    return service.me(actor)


@router.get(
    "/review/queues", response_model=schemas.QueuesOut, responses=AUTH_ERRORS, tags=["review"]
)
def queues(service: Service, actor: Caller) -> schemas.QueuesOut:
    """Depth (waiting items, including those whose lease expired), live claims, and the age
    of the oldest waiting item, for each queue the caller's role may see."""
    return service.queues(actor)


@router.post(
    "/review/queues/{queue}/claim",
    response_model=schemas.ClaimOut,
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
    body: Annotated[schemas.ClaimIn | None, Body()] = None,
) -> schemas.ClaimOut:
    """Claim the highest-priority waiting item under an exclusive lease (default 10
    minutes). No two moderators ever hold the same item. Audited (`claim`)."""
    return service.claim(actor, queue, None if body is None else body.lease_ms)


@router.get(
    "/review/claims", response_model=schemas.ClaimsOut, responses=AUTH_ERRORS, tags=["review"]
)
def my_claims(service: Service, actor: Caller) -> schemas.ClaimsOut:
    """The items the caller holds under a live lease, soonest expiry first."""
    return service.my_claims(actor)


@router.post(
    "/review/items/{item_id}/heartbeat",
    response_model=schemas.LeaseOut,
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
    body: Annotated[schemas.ClaimIn | None, Body()] = None,
) -> schemas.LeaseOut:
    """Extend the caller's live lease (from now, by the default or the given length)."""
    return service.heartbeat(actor, item_id, None if body is None else body.lease_ms)


@router.post(
    "/review/items/{item_id}/release",
    response_model=schemas.ReleasedOut,
    responses={**ITEM_ERRORS, 409: _err("The caller holds no live lease.", "lease_lost")},
    tags=["review"],
)
def release(service: Service, actor: Caller, item_id: ItemId) -> schemas.ReleasedOut:
    """Hand the item back to its queue undecided. Audited (`release`)."""
    return service.release(actor, item_id)


@router.get(
    "/review/items/{item_id}",
    response_model=schemas.ItemDetailOut,
    responses=ITEM_ERRORS,
    tags=["review"],
)
def item_detail(service: Service, actor: Caller, item_id: ItemId) -> schemas.ItemDetailOut:
    """The item: verified facts (sender, recipients, conversation, time, decrypted text,
    attachment metadata, bank matches) apart from what reporters merely say (comments,
    device hints); the context transcript; other items and earlier decisions about the
    sender. Needs the caller's lease, or the lead role. Audited (`item_view`)."""
    return service.item_detail(actor, item_id)


@router.get(
    "/review/items/{item_id}/media/{sha256}",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "Blurred grayscale PNG."},
        **ITEM_ERRORS,
        410: DESTROYED,
        422: _err("The medium cannot be decoded safely.", "media_undecodable"),
    },
    tags=["review"],
)
def thumbnail(service: Service, actor: Caller, item_id: ItemId, sha256: Sha256) -> Response:
    """A grayscale, downscaled (at most 256 px), strongly blurred PNG of an image
    attachment: the default, wellness-first view. Audited (`media_view`)."""
    medium = service.thumbnail(actor, item_id, sha256)
    return Response(medium.data, media_type=medium.mime, headers=NO_STORE)


@router.get(
    "/review/items/{item_id}/media/{sha256}/keyframes/{index}",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "Blurred grayscale PNG."},
        **ITEM_ERRORS,
        410: DESTROYED,
        422: _err("The keyframe cannot be rendered safely.", "media_undecodable"),
    },
    tags=["review"],
)
def keyframe(
    service: Service, actor: Caller, item_id: ItemId, sha256: Sha256, index: KeyframeIndex
) -> Response:
    """One keyframe of a video attachment (kept, encrypted, at intake), grayscale,
    downscaled and blurred like a picture's thumbnail: the default view of a video.
    Audited (`media_view`)."""
    medium = service.keyframe(actor, item_id, sha256, index)
    return Response(medium.data, media_type=medium.mime, headers=NO_STORE)


@router.get(
    "/review/items/{item_id}/media/{sha256}/play",
    response_class=Response,
    responses={
        200: {"content": {"video/mp4": {}, "video/webm": {}}, "description": "The video."},
        **ITEM_ERRORS,
        403: _err("Reveal the video first (its reveal_url, with a reason).", "reveal_required"),
        410: DESTROYED,
    },
    tags=["review"],
)
def play(service: Service, actor: Caller, item_id: ItemId, sha256: Sha256) -> Response:
    """A video attachment's original for the console's player (`<video muted>`), only
    within 15 minutes after the caller's own audited reveal of it; the Content-Type comes
    from the file's container (MP4, WebM, Ogg), never from the reporter. Audited
    (`media_play`)."""
    medium = service.play(actor, item_id, sha256)
    return Response(medium.data, media_type=medium.mime, headers=NO_STORE)


@router.post(
    "/review/items/{item_id}/media/{sha256}/reveal",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "Original bytes."},
        **ITEM_ERRORS,
        **BAD_BODY,
        410: DESTROYED,
        422: _err("The reason is missing or too short.", "invalid_request"),
    },
    tags=["review"],
)
def reveal(
    service: Service, actor: Caller, item_id: ItemId, sha256: Sha256, body: schemas.ReasonIn
) -> Response:
    """The original attachment, only with a stated reason (at least 10 characters), which
    is written to the audit log (`media_reveal`)."""
    medium = service.reveal(actor, item_id, sha256, body.reason)
    headers = {**NO_STORE, "Content-Disposition": f'attachment; filename="{sha256}"'}
    return Response(medium.data, media_type=medium.mime, headers=headers)


@router.post(
    "/review/items/{item_id}/decision",
    response_model=schemas.DecideOut,
    responses={
        **ITEM_ERRORS,
        **BAD_BODY,
        422: _err("Bad decision, policy or note.", "invalid_input"),
        503: BANK_DOWN,
    },
    tags=["review"],
)
def decide(
    service: Service, actor: Caller, item_id: ItemId, body: schemas.DecisionIn
) -> schemas.DecideOut:
    """Decide the held item. The lease ends; the reporter sees the outcome through
    `GET /v1/reports/{id}`. `escalate_child_safety` moves the item to the child-safety
    queue instead. With `bank_media`, a violation's image hashes join the service's hash
    bank as a new signed list version. Audited (`decide`, `bank_media`)."""
    return service.decide(
        actor, item_id, body.decision, body.policy, body.note, bank_media=body.bank_media
    )


@router.post(
    "/review/items/{item_id}/reopen",
    response_model=schemas.ReleasedOut,
    responses={
        **ITEM_ERRORS,
        **BAD_BODY,
        409: _err("The item is not decided.", "invalid_state"),
    },
    tags=["review"],
)
def reopen(
    service: Service, actor: Caller, item_id: ItemId, body: schemas.ReasonIn
) -> schemas.ReleasedOut:
    """Reopen a decided item (lead only), with a stated reason. Audited (`reopen`)."""
    return service.reopen(actor, item_id, body.reason)


@router.get(
    "/review/flagged", response_model=schemas.FlaggedOut, responses=AUTH_ERRORS, tags=["review"]
)
def flagged(service: Service, actor: Caller) -> schemas.FlaggedOut:
    """Items flagged for a lead (a lead: general items; child_safety: child-safety items),
    such as items decided while other stamped copies' reports were merged into them."""
    return service.flagged(actor)


@router.post(
    "/review/items/{item_id}/bank",
    response_model=schemas.BankOut,
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
    body: Annotated[schemas.BankIn | None, Body()] = None,
) -> schemas.BankOut:
    """Bank the PDQ hashes of a decided violation's images. Banking belongs to a decision
    made under the lease (`bank_media`); this call retries it for the decider, or is a
    lead's override with a stated `reason`. Audited (`bank_media`)."""
    return service.bank(actor, item_id, None if body is None else body.reason)


@router.get(
    "/review/moderators",
    response_model=schemas.ModeratorsOut,
    responses=AUTH_ERRORS,
    tags=["accounts"],
)
def list_moderators(service: Service, actor: Caller) -> schemas.ModeratorsOut:
    """Every moderator account (admin)."""
    return service.admin_list(actor)


@router.post(
    "/review/moderators",
    response_model=schemas.ModeratorCreatedOut,
    status_code=201,
    responses={**AUTH_ERRORS, **BAD_BODY, 409: _err("The name is taken.", "conflict")},
    tags=["accounts"],
)
def add_moderator(
    service: Service, actor: Caller, body: schemas.ModeratorIn
) -> schemas.ModeratorCreatedOut:
    """Create an account (admin); its token is shown once. Audited (`moderator_add`)."""
    return service.admin_add(actor, body.name, body.role)


@router.delete(
    "/review/moderators/{name}",
    response_model=schemas.ModeratorOut,
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
) -> schemas.ModeratorOut:
    """Revoke an account (admin): its token stops working at once and its leases end.
    The last active admin cannot be revoked (409 `last_admin`). Audited
    (`moderator_revoke`)."""
    return service.admin_revoke(actor, name)


@router.get("/audit", response_model=schemas.AuditPageOut, responses=AUTH_ERRORS, tags=["audit"])
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
) -> schemas.AuditPageOut:
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
    response_model=schemas.AuditVerifyOut,
    responses=AUTH_ERRORS,
    tags=["audit"],
)
def audit_verify(service: Service, actor: Caller) -> schemas.AuditVerifyOut:
    """Recompute the whole hash chain and compare it with the recorded head; report the
    first broken position (auditor, admin)."""
    return service.audit_verify(actor)
