"""The moderator console: server-rendered pages under ``/console``.

Every page handler reads its form or query, calls one
:class:`~report_service.review.service.ReviewService` method (the same ones the JSON API
calls, so the review rules, role checks and audit entries are the API's) and renders a
template. No SQL here: sessions and preferences go through
:class:`~report_service.console.sessions.ConsoleSessions`.

Errors: a missing or ended session redirects to the sign-in page; any other service
error renders an HTML error page with the status :func:`report_service.http_errors.classify`
gives it (a child-safety item seen by another role is the same 404 as a missing item).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from report_service.console.security import SecurityHeadersMiddleware
from report_service.console.sessions import (
    BLUR_LEVELS,
    ConsoleSessions,
    Preferences,
    SessionExpired,
    SignedIn,
)
from report_service.errors import AuthError, RequestRejected, ServiceError, StorageError
from report_service.http_errors import classify
from report_service.review.audit.store import AuditFilter
from report_service.review.core import Actor
from report_service.review.decisions import taxonomy
from report_service.review.errors import NotFound, QueueEmpty
from report_service.review.items.schemas import ItemDetailOut
from report_service.review.moderators.roles import Permission, Role, allows
from report_service.review.service import ReviewService

PREFIX = "/console"
COOKIE = "frankly_console"
LOGIN_COOKIE = "frankly_console_signin"
HERE = Path(__file__).parent
MAX_ITEM_ID = 2**31 - 1
MAX_FORM_FIELD = 8192
MAX_FORM_FIELDS = 64
AUDIT_PAGE = 50
HEARTBEAT_MS = 60_000
SHA256 = re.compile(r"[0-9a-f]{64}")
INLINE_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"})
QUEUE_LABELS = {"child_safety": "Child safety", "general": "General"}
DECISION_LABELS = {
    "no_violation": "No violation",
    "warn_sender": "Warn sender",
    "restrict_sender": "Restrict sender",
    "suspend_sender": "Suspend sender",
    "escalate_child_safety": "Escalate to child safety",
    "escalate_legal": "Escalate to legal",
}
FLASH = {
    "decided": "Decision recorded.",
    "released": "Item released to its queue.",
    "reopened": "Item reopened.",
    "empty": "Nothing to claim in that queue.",
    "saved": "Settings saved.",
    "revoked": "Account revoked.",
    "break": "Break timer reset. Welcome back.",
    "signed_out": "Signed out.",
    "expired": "Your session ended. Sign in again.",
    "link": "That sign-in link is used, expired or unknown. Ask an admin for a new one.",
}

templates = Jinja2Templates(directory=str(HERE / "templates"))


# ---------------------------------------------------------------------------- plumbing


class ConsoleRoute(APIRoute):
    """Turns service errors into HTML pages (or a redirect to sign in) for console routes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except AuthError:
                wants_json = request.headers.get("accept", "").startswith("application/json")
                if wants_json:
                    return JSONResponse({"error": {"code": "unauthorized"}}, status_code=401)
                gone = RedirectResponse(f"{PREFIX}/signin?msg=expired", status_code=303)
                gone.delete_cookie(COOKIE, path=PREFIX)
                return gone
            except ServiceError as exc:
                return error_page(request, exc)

        return handler


router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)


def get_review(request: Request) -> ReviewService:
    """The app's review service.

    Raises:
        StorageError: the app was built without one.
    """
    service = getattr(request.app.state, "review", None)
    if not isinstance(service, ReviewService):
        raise StorageError("the review service is not configured")
    return service


def get_sessions(request: Request) -> ConsoleSessions:
    """The app's console session store.

    Raises:
        StorageError: the console is not installed.
    """
    sessions = getattr(request.app.state, "console_sessions", None)
    if not isinstance(sessions, ConsoleSessions):
        raise StorageError("the console is not configured")
    return sessions


Review = Annotated[ReviewService, Depends(get_review)]
Sessions = Annotated[ConsoleSessions, Depends(get_sessions)]


def get_signed_in(request: Request, sessions: Sessions) -> SignedIn:
    """The signed-in moderator of this request (kept on ``request.state`` for error pages).

    Raises:
        SessionExpired: no session, or it ended.
    """
    who = sessions.resume(request.cookies.get(COOKIE))
    request.state.signed_in = who
    return who


Who = Annotated[SignedIn, Depends(get_signed_in)]


def get_heartbeat_caller(request: Request, sessions: Sessions, form: Form) -> SignedIn:
    """The signed-in moderator of an automatic heartbeat, CSRF-checked; the session's idle
    timer is not restarted, so an unattended page still times out.

    Raises:
        SessionExpired: no session. CsrfRejected: missing or wrong token.
    """
    who = sessions.resume(request.cookies.get(COOKIE), touch=False)
    request.state.signed_in = who
    ConsoleSessions.check_csrf(who, form.get("csrf") or request.headers.get("x-csrf-token"))
    return who


HeartbeatCaller = Annotated[SignedIn, Depends(get_heartbeat_caller)]


async def get_form(request: Request) -> dict[str, str]:
    """The url-encoded form of a POST (empty for any other body).

    Raises:
        RequestRejected: more than :data:`MAX_FORM_FIELDS` fields, or one longer than
            :data:`MAX_FORM_FIELD` characters (422).
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return {}
    body = (await request.body()).decode("utf-8", "replace")
    try:
        pairs = parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise RequestRejected("too many form fields", code="invalid_input", status=422) from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if len(value) > MAX_FORM_FIELD:
            raise RequestRejected("a form field is too long", code="invalid_input", status=422)
        fields.setdefault(key, value)
    return fields


Form = Annotated[dict[str, str], Depends(get_form)]


def get_checked(request: Request, who: Who, form: Form) -> SignedIn:
    """The signed-in moderator of a state-changing request whose CSRF token matches.

    Raises:
        SessionExpired: no session. CsrfRejected: missing or wrong token.
    """
    ConsoleSessions.check_csrf(who, form.get("csrf") or request.headers.get("x-csrf-token"))
    return who


Checked = Annotated[SignedIn, Depends(get_checked)]


def _ms_text(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _age_text(ms: int | None) -> str:
    if ms is None:
        return "-"
    s = ms // 1000
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


templates.env.filters["when"] = _ms_text
templates.env.filters["age"] = _age_text
templates.env.filters["compact_json"] = lambda v: json.dumps(v, sort_keys=True)


def render(
    request: Request,
    name: str,
    who: SignedIn | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page with the navigation for ``who``."""
    actor = who.actor if who is not None else None
    nav = []
    if actor is not None:
        if allows(actor.role, Permission.REVIEW):
            nav.append(("Queues", f"{PREFIX}/queues", "q"))
            nav.append(("Search", f"{PREFIX}/search", "i"))
        if allows(actor.role, Permission.READ_AUDIT):
            nav.append(("Audit log", f"{PREFIX}/audit", "a"))
        if allows(actor.role, Permission.MANAGE_MODERATORS):
            nav.append(("Moderators", f"{PREFIX}/moderators", "m"))
        for label, path, key, permission in getattr(request.app.state, "console_nav", ()):
            if allows(actor.role, permission):
                nav.append((label, f"{PREFIX}{path}", key))
        nav.append(("Settings", f"{PREFIX}/settings", "w"))
    msg = request.query_params.get("msg")
    return templates.TemplateResponse(
        request,
        name,
        {
            "prefix": PREFIX,
            "actor": actor,
            "csrf": who.csrf if who is not None else "",
            "nav": nav,
            "flash": FLASH.get(msg or ""),
            "queue_labels": QUEUE_LABELS,
            **context,
        },
        status_code=status,
    )


def error_page(request: Request, exc: ServiceError) -> HTMLResponse:
    """The HTML answer for a service error (the JSON API's status and code)."""
    status, code, message, _ = classify(exc)
    if status >= 500:
        message = "the service cannot answer right now"
    item_id = request.path_params.get("item_id")
    return render(
        request,
        "error.html",
        getattr(request.state, "signed_in", None),
        status=status,
        code=code,
        message=message,
        item_id=item_id,
    )


def see_other(path: str, **query: str | int) -> RedirectResponse:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return RedirectResponse(f"{PREFIX}{path}{'?' + q if q else ''}", status_code=303)


def is_digits(text: str, most: int) -> bool:
    """Whether ``text`` is 1 to ``most`` ASCII digits (``str.isdigit`` also takes "²")."""
    return re.fullmatch(f"[0-9]{{1,{most}}}", text) is not None


def parse_item_id(text: str) -> int:
    """An item id from a path or form.

    Raises:
        RequestRejected: not a positive 32-bit integer (422).
    """
    if not is_digits(text, 10) or not 1 <= int(text) <= MAX_ITEM_ID:
        raise RequestRejected("an item id is a positive number", code="invalid_input", status=422)
    return int(text)


def plain_filter(text: str, limit: int) -> str | None:
    """A filter value: stripped, at most ``limit`` characters, no control characters
    (PostgreSQL text holds no NUL); ``None`` when empty.

    Raises:
        RequestRejected: a control character or too long (422).
    """
    text = text.strip()
    if len(text) > limit or any(ord(c) < 32 for c in text):
        raise RequestRejected(
            "a filter value is too long or not text", code="invalid_input", status=422
        )
    return text or None


def _day_ms(text: str, *, next_day: bool = False) -> int:
    """The start of a UTC day ``YYYY-MM-DD`` in ms (of the next day with ``next_day``, so
    that an "until" day is included).

    Raises:
        RequestRejected: not a date (422).
    """
    try:
        day = dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    except ValueError:
        raise RequestRejected("a date is YYYY-MM-DD", code="invalid_input", status=422) from None
    if next_day:
        day += dt.timedelta(days=1)
    return int(day.timestamp() * 1000)


def _sha(text: str) -> str:
    if not SHA256.fullmatch(text):
        raise RequestRejected("no such medium", code="not_found", status=404)
    return text


def _home(actor: Actor) -> str:
    if allows(actor.role, Permission.REVIEW):
        return "/queues"
    if allows(actor.role, Permission.MANAGE_MODERATORS):
        return "/moderators"
    return "/audit"


def _cookie_secure(request: Request) -> bool:
    return request.url.scheme == "https"


# ---------------------------------------------------------------------------- sign in / out


@router.get("")
@router.get("/")
def index(request: Request, sessions: Sessions) -> Response:
    """The home page of the signed-in role, or the sign-in page."""
    try:
        who = sessions.resume(request.cookies.get(COOKIE))
    except SessionExpired:
        return see_other("/signin")
    return see_other(_home(who.actor))


@router.get("/signin")
def signin_form(request: Request) -> Response:
    """The sign-in form; a fresh pre-session CSRF value is set in a cookie and the form."""
    token = secrets.token_hex(32)
    response = render(request, "signin.html", None, login_csrf=token)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        path=f"{PREFIX}/signin",
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request),
    )
    return response


@router.post("/signin")
def signin(request: Request, review: Review, sessions: Sessions, form: Form) -> Response:
    """Exchange a moderator token for a session cookie."""
    expected = request.cookies.get(LOGIN_COOKIE, "")
    given = form.get("csrf", "")
    if not expected or not secrets.compare_digest(expected.encode(), given.encode()):
        return see_other("/signin", msg="expired")
    try:
        actor = review.authenticate(form.get("token", "").strip())
    except AuthError:
        token = secrets.token_hex(32)
        response = render(
            request,
            "signin.html",
            None,
            status=401,
            login_csrf=token,
            error="That token is not the token of an active moderator.",
        )
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            path=f"{PREFIX}/signin",
            httponly=True,
            samesite="strict",
            secure=_cookie_secure(request),
        )
        return response
    return _start_session(request, sessions, actor, f"{PREFIX}/signin")


@router.get("/link")
def link_form(request: Request) -> Response:
    """A one-time sign-in link (``/console/link?code=...``: in the query, which the access
    log never records, not the path): a page with one button; opening the link uses
    nothing up, so a link previewer cannot spend it."""
    code = request.query_params.get("code", "")[:128]
    token = secrets.token_hex(32)
    response = render(request, "link.html", None, login_csrf=token, code=code)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        path=f"{PREFIX}/link",
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request),
    )
    return response


@router.post("/link")
def link_signin(request: Request, sessions: Sessions, form: Form) -> Response:
    """Use up a one-time sign-in link (its code in the form) and open a session for its
    moderator."""
    expected = request.cookies.get(LOGIN_COOKIE, "")
    given = form.get("csrf", "")
    if not expected or not secrets.compare_digest(expected.encode(), given.encode()):
        return see_other("/signin", msg="expired")
    try:
        actor = sessions.redeem_link(form.get("code", ""))
    except SessionExpired:
        return see_other("/signin", msg="link")
    return _start_session(request, sessions, actor, f"{PREFIX}/link")


@router.post("/signout")
def signout(request: Request, sessions: Sessions, who: Checked) -> Response:
    """End the session and forget the cookie."""
    sessions.close(request.cookies.get(COOKIE))
    response = see_other("/signin", msg="signed_out")
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


# ---------------------------------------------------------------------------- queues


@router.get("/queues")
def queues_page(request: Request, review: Review, who: Who) -> Response:
    """Depth, live claims, oldest waiting age and top priority of each visible queue; the
    caller's live claims; claim-next buttons."""
    queues = review.queues(who.actor)
    claims = review.my_claims(who.actor)
    done = request.query_params.get("item", "")
    return render(
        request,
        "queues.html",
        who,
        queues=queues.queues,
        claims=claims.claims,
        done_item=int(done) if is_digits(done, 10) else None,
        can_view_any=allows(who.actor.role, Permission.VIEW_ANY),
    )


@router.post("/queues/{queue}/claim")
def claim(queue: str, review: Review, who: Checked) -> Response:
    """Claim the next item of ``queue`` and open it."""
    try:
        out = review.claim(who.actor, queue)
    except QueueEmpty:
        return see_other("/queues", msg="empty")
    return see_other(f"/items/{out.item.id}")


@router.post("/claim-next")
def claim_next(review: Review, who: Checked) -> Response:
    """Claim from the first visible queue that has a waiting item."""
    for q in review.queues(who.actor).queues:
        if q.depth > 0:
            try:
                out = review.claim(who.actor, q.queue)
            except QueueEmpty:
                continue
            return see_other(f"/items/{out.item.id}")
    return see_other("/queues", msg="empty")


@router.get("/open")
def open_item(request: Request, who: Who) -> Response:
    """Go to an item by its number (leads view any general item)."""
    return see_other(f"/items/{parse_item_id(request.query_params.get('item', '').strip())}")


# ---------------------------------------------------------------------------- items


def _item_page(
    request: Request,
    review: ReviewService,
    sessions: ConsoleSessions,
    who: SignedIn,
    item_id: int,
    *,
    revealed: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    detail: ItemDetailOut = review.item_detail(who.actor, item_id)
    now = sessions.now()
    prefs = sessions.preferences(who.actor.name)
    holds = detail.lease is not None and (
        detail.lease.moderator == who.actor.name and detail.lease.expires_at > now
    )
    remaining = detail.lease.expires_at - now if holds and detail.lease is not None else None
    break_due_in: int | None = None
    if detail.item.queue == "child_safety":
        cookie = request.cookies.get(COOKIE, "")
        since = sessions.mark_child_safety(cookie)
        if since is not None:
            break_due_in = since + prefs.break_minutes * 60_000 - now
    may_reopen = detail.item.status == "decided" and (
        allows(who.actor.role, Permission.REOPEN)
        or (detail.item.queue == "child_safety" and allows(who.actor.role, Permission.CHILD_SAFETY))
    )
    decisions = [
        (d.value, DECISION_LABELS[d.value])
        for d in taxonomy.Decision
        if not (
            d is taxonomy.Decision.ESCALATE_CHILD_SAFETY and detail.item.queue == "child_safety"
        )
    ]
    return render(
        request,
        "item.html",
        who,
        status=status,
        d=detail,
        holds=holds,
        remaining_ms=remaining,
        heartbeat_ms=HEARTBEAT_MS,
        prefs=prefs,
        revealed=revealed or {},
        may_reopen=may_reopen,
        decisions=decisions,
        break_due_in=break_due_in,
        bankable=any(a.pdq for a in detail.verified.attachments),
        min_reason=taxonomy.MIN_REASON_CHARS,
    )


@router.get("/items/{item_id}")
def item_page(
    request: Request, item_id: str, review: Review, sessions: Sessions, who: Who
) -> Response:
    """The item: verified facts apart from reporters' words, transcript, bank matches,
    blurred media, the sender's history, and the decision form while the lease is held."""
    return _item_page(request, review, sessions, who, parse_item_id(item_id))


@router.get("/items/{item_id}/media/{sha256}")
def thumbnail(item_id: str, sha256: str, review: Review, who: Who) -> Response:
    """The blurred grayscale thumbnail the review API serves (audited ``media_view``)."""
    medium = review.thumbnail(who.actor, parse_item_id(item_id), _sha(sha256))
    return Response(medium.data, media_type=medium.mime, headers={"Cache-Control": "no-store"})


@router.get("/items/{item_id}/media/{sha256}/keyframes/{index}")
def keyframe(item_id: str, sha256: str, index: str, review: Review, who: Who) -> Response:
    """One blurred grayscale keyframe of a video (audited ``media_view``)."""
    if not index.isdigit() or len(index) > 2:
        raise NotFound("no such keyframe")
    medium = review.keyframe(who.actor, parse_item_id(item_id), _sha(sha256), int(index))
    return Response(medium.data, media_type=medium.mime, headers={"Cache-Control": "no-store"})


@router.get("/items/{item_id}/media/{sha256}/play")
def play(item_id: str, sha256: str, review: Review, who: Who) -> Response:
    """A revealed video's original for the page's ``<video muted>`` player (403 until the
    moderator revealed it; audited ``media_play``)."""
    medium = review.play(who.actor, parse_item_id(item_id), _sha(sha256))
    return Response(medium.data, media_type=medium.mime, headers={"Cache-Control": "no-store"})


@router.post("/items/{item_id}/media/{sha256}/reveal")
def reveal(
    request: Request,
    item_id: str,
    sha256: str,
    review: Review,
    sessions: Sessions,
    who: Checked,
    form: Form,
) -> Response:
    """Reveal one original with a stated reason (audited ``media_reveal``); the item page
    comes back with that one image shown."""
    iid, sha = parse_item_id(item_id), _sha(sha256)
    medium = review.reveal(who.actor, iid, sha, form.get("reason", ""))
    shown: dict[str, str] = {}
    if medium.mime in INLINE_IMAGE_TYPES:
        shown[sha] = f"data:{medium.mime};base64,{base64.b64encode(medium.data).decode()}"
    else:
        shown[sha] = ""
    return _item_page(request, review, sessions, who, iid, revealed=shown)


@router.post("/items/{item_id}/heartbeat")
def heartbeat(item_id: str, review: Review, sessions: Sessions, who: HeartbeatCaller) -> Response:
    """Extend the lease (the item page's script calls this while it is open; it does not
    keep the session itself alive)."""
    lease = review.heartbeat(who.actor, parse_item_id(item_id))
    return JSONResponse(
        {"remaining_ms": lease.expires_at - sessions.now()},
        headers={"Cache-Control": "no-store"},
    )


@router.post("/items/{item_id}/release")
def release(item_id: str, review: Review, who: Checked) -> Response:
    """Hand the item back to its queue undecided."""
    out = review.release(who.actor, parse_item_id(item_id))
    return see_other("/queues", msg="released", item=out.item.id)


@router.post("/items/{item_id}/decision")
def decide(item_id: str, review: Review, who: Checked, form: Form) -> Response:
    """Decide from the fixed taxonomy, with policy, note and optional banking."""
    out = review.decide(
        who.actor,
        parse_item_id(item_id),
        form.get("decision", ""),
        form.get("policy", "").strip(),
        form.get("note", ""),
        bank_media=form.get("bank_media") == "on",
    )
    return see_other("/queues", msg="decided", item=out.item.id)


@router.post("/items/{item_id}/reopen")
def reopen(item_id: str, review: Review, who: Checked, form: Form) -> Response:
    """Reopen a decided item with a stated reason (a lead)."""
    out = review.reopen(who.actor, parse_item_id(item_id), form.get("reason", ""))
    return see_other(f"/items/{out.item.id}", msg="reopened")


@router.post("/break")
def take_break(request: Request, sessions: Sessions, who: Checked) -> Response:
    """The moderator took a break: the child-safety timer starts again."""
    sessions.end_break_timer(request.cookies.get(COOKIE, ""))
    return see_other("/queues", msg="break")


# ---------------------------------------------------------------------------- search

UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
STATUSES = ("open", "claimed", "decided")


@router.get("/search")
def search_page(request: Request, who: Who) -> Response:
    """Find items by sender, reporter, report id, status and standing decision (the review
    API's search service: same rules, same ``item_search`` audit entry)."""
    from report_service.review.search.items import DEFAULT_LIMIT, ItemQuery, search_items

    q = request.query_params
    report_id = q.get("report_id", "").strip()
    status = q.get("status", "")
    decision = q.get("decision", "")
    cursor = q.get("cursor", "")
    if report_id and not UUID.fullmatch(report_id):
        raise RequestRejected("a report id is a UUID", code="invalid_input", status=422)
    if status and status not in STATUSES:
        raise RequestRejected("no such status", code="invalid_input", status=422)
    if decision:
        taxonomy.Decision.parse(decision)
    query = ItemQuery(
        sender=plain_filter(q.get("sender", ""), 128),
        reporter=plain_filter(q.get("reporter", ""), 128),
        report_id=report_id.lower() or None,
        status=status or None,
        decision=decision or None,
        cursor=parse_item_id(cursor) if cursor else None,
        limit=DEFAULT_LIMIT,
    )
    searched = any(
        v for k, v in q.items() if k in ("sender", "reporter", "report_id", "status", "decision")
    )
    state = request.app.state
    page = (
        search_items(state.session_factory, state.clock, who.actor.name, who.actor.role, query)
        if searched
        else None
    )
    return render(
        request,
        "search.html",
        who,
        page=page,
        query=query,
        statuses=STATUSES,
        decisions=list(DECISION_LABELS.items()),
    )


# ---------------------------------------------------------------------------- audit


@router.get("/audit")
def audit_page(request: Request, review: Review, who: Who) -> Response:
    """The audit log, paged and filtered; ``verify=1`` recomputes the chain."""
    q = request.query_params
    after_text = q.get("after", "0")
    item_text = q.get("item", "").strip()
    actor_name = plain_filter(q.get("actor", ""), 64)
    action = plain_filter(q.get("action", ""), 32)
    after = int(after_text) if is_digits(after_text, 18) else 0
    item = parse_item_id(item_text) if item_text else None
    since_text, until_text = q.get("since", "").strip(), q.get("until", "").strip()
    page = review.audit_page(
        who.actor,
        AuditFilter(
            actor=actor_name,
            action=action,
            item_id=item,
            since_ms=_day_ms(since_text) if since_text else None,
            until_ms=_day_ms(until_text, next_day=True) if until_text else None,
            after_seq=after,
            limit=AUDIT_PAGE,
        ),
    )
    verified = review.audit_verify(who.actor) if q.get("verify") == "1" else None
    return render(
        request,
        "audit.html",
        who,
        page=page,
        verified=verified,
        filters={
            "actor": actor_name or "",
            "action": action or "",
            "item": item or "",
            "since": since_text if since_text else "",
            "until": until_text if until_text else "",
        },
        after=after,
    )


# ---------------------------------------------------------------------------- admin


@router.get("/moderators")
def moderators_page(request: Request, review: Review, who: Who) -> Response:
    """Every account, with add and revoke (admin)."""
    return render(
        request,
        "moderators.html",
        who,
        moderators=review.admin_list(who.actor).moderators,
        roles=[r.value for r in Role],
        created=None,
    )


@router.post("/moderators")
def add_moderator(request: Request, review: Review, who: Checked, form: Form) -> Response:
    """Create an account; its token is shown once, on this answer only."""
    created = review.admin_add(who.actor, form.get("name", "").strip(), form.get("role", ""))
    return render(
        request,
        "moderators.html",
        who,
        status=201,
        moderators=review.admin_list(who.actor).moderators,
        roles=[r.value for r in Role],
        created=created,
    )


@router.post("/moderators/{name}/link")
def make_link(
    request: Request, name: str, review: Review, sessions: Sessions, who: Checked
) -> Response:
    """A one-time sign-in link for an account (admin), shown once on this answer."""
    account = plain_filter(name, 64)
    if account is None:
        raise RequestRejected("no such account", code="not_found", status=404)
    code, expires = sessions.create_link(who.actor, account)
    return render(
        request,
        "moderators.html",
        who,
        status=201,
        moderators=review.admin_list(who.actor).moderators,
        roles=[r.value for r in Role],
        created=None,
        link={
            "name": account,
            "url": f"{str(request.base_url).rstrip('/')}{PREFIX}/link?code={code}",
            "expires_at": expires,
        },
    )


@router.post("/moderators/{name}/rotate")
def rotate_moderator(request: Request, name: str, review: Review, who: Checked) -> Response:
    """A new token for an account (admin), shown once; the old token and every console
    session opened with it stop working at once. Audited (``moderator_rotate``)."""
    from report_service.review.moderators.tokens import AccountService

    account = plain_filter(name, 64)
    if account is None:
        raise RequestRejected("no such account", code="not_found", status=404)
    state = request.app.state
    issued = AccountService(state.session_factory, state.clock).admin_rotate_moderator(
        who.actor, account
    )
    return render(
        request,
        "moderators.html",
        who,
        moderators=review.admin_list(who.actor).moderators,
        roles=[r.value for r in Role],
        created=issued,
        rotated=True,
    )


@router.post("/moderators/{name}/revoke")
def revoke_moderator(name: str, review: Review, who: Checked) -> Response:
    """Revoke an account: its token and console sessions stop working at once."""
    account = plain_filter(name, 64)
    if account is None:
        raise RequestRejected("no such account", code="not_found", status=404)
    review.admin_revoke(who.actor, account)
    return see_other("/moderators", msg="revoked")


# ---------------------------------------------------------------------------- wellness


@router.get("/settings")
def settings_page(request: Request, sessions: Sessions, who: Who) -> Response:
    """The moderator's wellness settings."""
    return render(
        request,
        "settings.html",
        who,
        prefs=sessions.preferences(who.actor.name),
        levels=BLUR_LEVELS,
        child_safety=allows(who.actor.role, Permission.CHILD_SAFETY),
    )


@router.post("/settings")
def save_settings(sessions: Sessions, who: Checked, form: Form) -> Response:
    """Save blur level, grayscale and the break reminder."""
    blur = form.get("blur_level", "")
    minutes = form.get("break_minutes", "")
    if not is_digits(blur, 1) or not is_digits(minutes, 4):
        raise RequestRejected("settings must be numbers", code="invalid_input", status=422)
    prefs = Preferences.checked(int(blur), form.get("grayscale") == "on", int(minutes))
    sessions.save_preferences(who.actor.name, prefs)
    return see_other("/settings", msg="saved")


NavEntry = tuple[str, str, str, Permission]
"""A page a feature adds to the navigation: label, path under ``/console``, shortcut key
and the permission a role needs to see the link."""


def install(app: FastAPI, extra: Sequence[tuple[APIRouter, Sequence[NavEntry]]] = ()) -> None:
    """Mount the console on ``app`` (after the review service is installed): its session
    store on ``app.state.console_sessions``, the pages, the static files and the
    security headers of every ``/console`` answer.

    ``extra`` are pages of higher features (the escalation pages of
    :mod:`report_service.escalation.console_pages`) with their navigation entries: the
    console never imports them, ``report_service.app`` passes them in."""
    app.state.console_sessions = ConsoleSessions(
        app.state.session_factory, app.state.clock, app.state.random
    )
    app.state.console_nav = tuple(entry for _, entries in extra for entry in entries)
    app.include_router(router)
    for pages, _ in extra:
        app.include_router(pages)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")
    app.add_middleware(SecurityHeadersMiddleware, prefix=PREFIX)


__all__ = ["PREFIX", "NavEntry", "install", "router"]


def _start_session(
    request: Request, sessions: ConsoleSessions, actor: Actor, login_path: str
) -> Response:
    """End any session the browser held before, open one for ``actor``, set its cookie,
    forget the sign-in form's cookie (at ``login_path``) and go to the actor's home page."""
    sessions.close(request.cookies.get(COOKIE))
    cookie, _csrf = sessions.open(actor)
    home = see_other(_home(actor))
    home.set_cookie(
        COOKIE,
        cookie,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request),
    )
    home.delete_cookie(LOGIN_COOKIE, path=login_path)
    return home
