"""Every bad input gets a clear, typed 4xx, never a 5xx (DESIGN.md "Non-negotiables").

Hypothesis throws malformed requests at every route under ``/v1`` (reporter, relay,
review, audit), found from the app's own OpenAPI document so that new routes are fuzzed
too: random bytes, random JSON, wrong types, huge numbers, NUL characters and lone
surrogates, bad path ids, bad query parameters, wrong content types and methods, bad
bearer tokens. Every answer must be below 500, and every error must be
``{"error": {"code": str, "message": str}}``.

The requests go over a real socket to uvicorn (``BackgroundServer``), once on SQLite and
once on PostgreSQL: the two databases refuse different things (NUL characters, integers
beyond 32 or 64 bits), and the service must stop all of them before the database does.
One app per database serves the whole module, with a verified report, a claimed review
item and a moderator of every role, so that requests reach deep into the handlers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from client_scan.errors import PayloadInvalid
from client_scan.franking.commitment import commit, new_franking_key
from client_scan.franking.message import FrankedMessage
from client_scan.franking.payload import parse_payload
from client_scan.franking.stamp import stamp
from client_scan.report_format import report_to_json
from report_service.keys import generate_key_material
from report_service.server import BackgroundServer
from report_service.storage.models import Report
from tests.conftest import fresh_postgres_database

from .conftest import T0, FakeClock, Service, loopback_client, make_service

ROLES = ("moderator", "child_safety", "lead", "auditor", "admin")
# A quarter of the profile's examples: each example makes a request per route.
EXAMPLES = max(10, (settings.default.max_examples if settings.default else 60) // 4)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")


# ---------------------------------------------------------------------- the target


@dataclass
class Route:
    """One operation of the OpenAPI document."""

    method: str
    path: str
    path_params: list[str]
    query_params: list[str]
    body_fields: list[str]
    json_body: bool


class Target:
    """A running service with real data, and what the fuzzers need to aim (a plain class:
    Hypothesis prints dataclasses field by field, secrets and all)."""

    def __init__(
        self,
        service: Service,
        http: httpx.Client,
        routes: list[Route],
        tokens: dict[str, str],
        item_id: int,
        sha256: str,
        report_id: str,
    ) -> None:
        self.service = service
        self.http = http
        self.routes = routes
        self.tokens = tokens
        self.item_id = item_id
        self.sha256 = sha256
        self.report_id = report_id

    def __repr__(self) -> str:
        return f"Target({self.service.app.state.engine.dialect.name})"

    def stored_reports(self) -> int:
        with self.service.app.state.session_factory() as session:
            return int(session.scalar(select(func.count()).select_from(Report)) or 0)


def routes_of(openapi: dict[str, Any]) -> list[Route]:
    schemas = openapi.get("components", {}).get("schemas", {})
    found = []
    for path, operations in openapi["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in operations.items():
            params = op.get("parameters", [])
            body_fields: list[str] = []
            content = op.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            for ref in [schema, *schema.get("anyOf", [])]:
                if "$ref" in ref:
                    body_fields += list(schemas[ref["$ref"].rsplit("/", 1)[1]]["properties"])
            found.append(
                Route(
                    method=method.upper(),
                    path=path,
                    path_params=[p["name"] for p in params if p["in"] == "path"],
                    query_params=[p["name"] for p in params if p["in"] == "query"],
                    body_fields=body_fields,
                    json_body="application/json" in content,
                )
            )
    return found


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp("fuzz")
    database = (
        fresh_postgres_database()
        if request.param == "postgresql"
        else contextlib.nullcontext(f"sqlite:///{tmp / 'frankly.sqlite'}")
    )
    with database as url:
        keys = generate_key_material(os.urandom, T0)
        for svc in make_service(url, tmp, keys, FakeClock(), rate_limit_burst=10**6):
            for name in ("alice", "bob", "carol"):
                svc.add_user(name)
            review = svc.app.state.review
            tokens = {role: review.add_moderator("cli", f"{role}-1", role).token for role in ROLES}
            review.add_moderator("cli", "victim", "moderator")
            picture = _png()
            sha = hashlib.sha256(picture).hexdigest()
            subject = svc.frank("alice", "bob", "look", attachments=[(picture, "image/png")])
            report = svc.report(
                "bob", [svc.frank("bob", "alice", "hi"), subject], attachments={sha: picture}
            )
            assert svc.submit("bob", report).status_code == 201
            with BackgroundServer(svc.app) as base, loopback_client(base) as http:
                claim = http.post(
                    "/v1/review/queues/general/claim",
                    headers={"Authorization": f"Bearer {tokens['lead']}"},
                )
                assert claim.status_code == 200, claim.text
                yield Target(
                    service=svc,
                    http=http,
                    routes=routes_of(svc.app.openapi()),
                    tokens={**tokens, **{u: svc.tokens[u] for u in ("alice", "bob")}},
                    item_id=claim.json()["item"]["id"],
                    sha256=sha,
                    report_id=report.report_id,
                )


# ------------------------------------------------------------------------- checks


def check(response: httpx.Response, what: str) -> None:
    """Below 500; an error answer is the contract's JSON error object."""
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400 and response.request.method != "HEAD":
        assert response.headers.get("content-type", "").startswith("application/json"), what
        body = response.json()
        assert isinstance(body, dict), what
        assert set(body) == {"error"}, what
        err = body["error"]
        assert isinstance(err, dict), what
        assert isinstance(err.get("code"), str), what
        assert err["code"], what
        assert isinstance(err.get("message"), str), what
        assert set(err) <= {"code", "message", "message_index"}, what


def send(
    t: Target,
    method: str,
    url: str,
    *,
    token: str | None,
    body: bytes | None = None,
    content_type: str | None = None,
) -> httpx.Response:
    headers = {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = t.http.request(method, url, content=body, headers=headers)
    check(response, f"{method} {url} body={body[:200] if body else body!r} ct={content_type}")
    return response


# --------------------------------------------------------------------- strategies

HUGE = st.sampled_from(
    [
        0,
        -1,
        1,
        2**31 - 1,
        2**31,
        2**32,
        2**53 + 1,
        2**63 - 1,
        2**63,
        2**64,
        -(2**63) - 1,
        10**30,
        -(10**30),
    ]
)
NASTY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\ud800",
        "x\udfffy",
        "\U0010ffff",
        "é",
        "%00",
        "../..",
        "x" * 5000,
        "general",
        "child_safety",
        "null",
        "1e309",
        "NaN",
        "\n\r\t",
        "' OR 1=1 --",
    ]
)
TEXT = st.text(st.characters(codec=None, categories=None), max_size=40) | NASTY_TEXT
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | HUGE
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-16",
        "application/octet-stream",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "garbage",
        "application/*",
    ]
)
PATH_SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "0",
            "-1",
            "1",
            "2",
            "01",
            "1.5",
            "1e3",
            "0x10",
            str(2**31 - 1),
            str(2**31),
            str(2**32),
            str(2**63 - 1),
            str(2**63),
            "9" * 40,
            "abc",
            "%00",
            "a%00b",
            "%FF",
            "%ED%A0%80",
            "%C3%A9",
            "%2F",
            "%20",
            "general",
            "child_safety",
            "victim",
            "nobody",
            "a" * 64,
            "A" * 64,
            "g" * 64,
            "a" * 300,
            str(uuid.uuid4()),
            str(uuid.uuid4()).upper(),
        ]
    ),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=30).map(lambda s: quote(s, safe="")),
)


def encode_json(value: object) -> bytes:
    """JSON with lone surrogates escaped (as any client might send them)."""
    return json.dumps(value, ensure_ascii=True).encode()


@st.composite
def bodies(draw: st.DrawFn, fields: list[str]) -> bytes | None:
    kind = draw(st.sampled_from(["none", "bytes", "json", "object", "object", "object"]))
    if kind == "none":
        return None
    if kind == "bytes":
        return draw(st.binary(max_size=512))
    if kind == "json" or not fields:
        return encode_json(draw(JSON))
    names = st.sampled_from(fields) | TEXT
    return encode_json(draw(st.dictionaries(names, JSON | SCALARS, max_size=len(fields) + 1)))


def tokens(t: Target) -> st.SearchStrategy[str | None]:
    return st.sampled_from([*t.tokens.values(), None, "-", "garbage", "x" * 300, "Bearer x"])


def valid_segment(t: Target, name: str) -> str:
    return {
        "item_id": str(t.item_id),
        "sha256": t.sha256,
        "queue": "general",
        "name": "victim",
        "report_id": t.report_id,
    }.get(name, "1")


# -------------------------------------------------------------------------- tests


def test_every_route_is_found(target: Target) -> None:
    """The fuzzers aim at every route; this pins the ones the contract and review.md name."""
    names = {(r.method, r.path) for r in target.routes}
    assert {
        ("POST", "/v1/relay/messages"),
        ("GET", "/v1/relay/inbox"),
        ("POST", "/v1/relay/inbox/ack"),
        ("GET", "/v1/keys/report"),
        ("POST", "/v1/reports"),
        ("GET", "/v1/reports/{report_id}"),
        ("GET", "/v1/review/me"),
        ("GET", "/v1/review/queues"),
        ("POST", "/v1/review/queues/{queue}/claim"),
        ("GET", "/v1/review/claims"),
        ("POST", "/v1/review/items/{item_id}/heartbeat"),
        ("POST", "/v1/review/items/{item_id}/release"),
        ("GET", "/v1/review/items/{item_id}"),
        ("GET", "/v1/review/items/{item_id}/media/{sha256}"),
        ("POST", "/v1/review/items/{item_id}/media/{sha256}/reveal"),
        ("POST", "/v1/review/items/{item_id}/decision"),
        ("POST", "/v1/review/items/{item_id}/reopen"),
        ("POST", "/v1/review/items/{item_id}/bank"),
        ("GET", "/v1/review/moderators"),
        ("POST", "/v1/review/moderators"),
        ("DELETE", "/v1/review/moderators/{name}"),
        ("GET", "/v1/audit"),
        ("GET", "/v1/audit/verify"),
        ("GET", "/v1/statements"),
        ("POST", "/v1/appeals"),
        ("GET", "/v1/appeals/{appeal_id}"),
        ("GET", "/v1/review/appeals"),
        ("POST", "/v1/review/appeals/claim"),
        ("POST", "/v1/review/appeals/{appeal_id}/claim"),
        ("GET", "/v1/review/appeals/{appeal_id}/item"),
        ("POST", "/v1/review/appeals/{appeal_id}/decision"),
    } <= names


BIG = str(10**23)
ONCE_5XX = [
    # (role, method, url, JSON body): each of these answered 500 before it was fixed
    ("bob", "GET", "/v1/reports/%00", None),
    ("bob", "GET", "/v1/reports/a%00b", None),
    ("admin", "DELETE", "/v1/review/moderators/%00", None),
    ("auditor", "GET", "/v1/audit?actor=%00", None),
    ("auditor", "GET", "/v1/audit?action=a%00", None),
    ("auditor", "GET", f"/v1/audit?since={BIG}", None),
    ("auditor", "GET", f"/v1/audit?until=-{BIG}", None),
    ("auditor", "GET", f"/v1/audit?item={BIG}", None),
    ("auditor", "GET", f"/v1/audit?item={2**31}", None),
    ("auditor", "GET", f"/v1/audit?after={BIG}", None),
    ("lead", "GET", f"/v1/review/items/{2**31}", None),
    ("lead", "GET", f"/v1/review/items/{2**63}", None),
    ("lead", "GET", f"/v1/review/items/{2**31}/media/{'a' * 64}", None),
    ("lead", "POST", f"/v1/review/items/{2**63}/heartbeat", {}),
    ("lead", "POST", f"/v1/review/items/{2**63}/release", None),
    ("lead", "POST", f"/v1/review/items/{2**63}/bank", None),
    ("lead", "POST", f"/v1/review/items/{2**63}/reopen", {"reason": "a reason, stated"}),
    (
        "lead",
        "POST",
        f"/v1/review/items/{2**63}/decision",
        {"decision": "no_violation", "policy": "p"},
    ),
    (
        "lead",
        "POST",
        f"/v1/review/items/{2**63}/media/{'a' * 64}/reveal",
        {"reason": "a reason, stated"},
    ),
    (
        "lead",
        "POST",
        "/v1/review/items/{item}/decision",
        {"decision": "no_violation", "policy": "p", "note": "a\x00b"},
    ),
    (
        "lead",
        "POST",
        "/v1/review/items/{item}/media/{sha}/reveal",
        {"reason": "a reason, stated\x00"},
    ),
    ("lead", "POST", "/v1/review/items/{item}/reopen", {"reason": "\x00 a reason, stated"}),
]


def test_inputs_that_once_answered_5xx(target: Target) -> None:
    """Pinned examples of what the fuzzers found (NUL in text PostgreSQL refuses,
    integers beyond SQLite's 64 and PostgreSQL's 32 bits, payload and conversation ids
    the service could not store), so that they stay fixed whatever Hypothesis draws."""
    for role, method, url, body in ONCE_5XX:
        url = url.format(item=target.item_id, sha=target.sha256)
        content = None if body is None else encode_json(body)
        response = send(
            target,
            method,
            url,
            token=target.tokens[role],
            body=content,
            content_type=None if content is None else "application/json",
        )
        assert 400 <= response.status_code < 500, url
    for pid, conversation, subject in [
        ("\x00", "conv-1", False),
        ("a\x00b", "conv-1", True),
        ("\ud800", "conv-1", False),
        ("x" * 128, "conv-1", True),
        (str(uuid.uuid4()), "c" * 129, True),
        (str(uuid.uuid4()), "a\x00b", False),
        (str(uuid.uuid4()), "c" * 128, True),
    ]:
        check_reportable(target, pid, conversation, subject)


@FUZZ
@given(data=st.data())
def test_bad_path_ids(target: Target, data: st.DataObject) -> None:
    """Every route with path parameters, each parameter in turn replaced by a hostile
    segment (huge, negative, NUL, invalid UTF-8, overlong...), as every role."""
    for route in target.routes:
        for name in route.path_params:
            url = route.path
            for other in route.path_params:
                value = data.draw(PATH_SEGMENTS) if other == name else valid_segment(target, other)
                url = url.replace("{" + other + "}", value)
            token = data.draw(tokens(target))
            body = encode_json({}) if route.json_body else None
            send(
                target,
                route.method,
                url,
                token=token,
                body=body,
                content_type="application/json" if body else None,
            )


@FUZZ
@given(data=st.data())
def test_bad_json_bodies(target: Target, data: st.DataObject) -> None:
    """Every route that takes JSON: random values (wrong types, huge numbers, NUL, lone
    surrogates, deep nesting) under its own field names, random bytes, random JSON."""
    for route in target.routes:
        if route.method not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        url = route.path
        for name in route.path_params:
            url = url.replace("{" + name + "}", valid_segment(target, name))
        body = data.draw(bodies(route.body_fields))
        content_type = data.draw(st.sampled_from(["application/json"]) | CONTENT_TYPES)
        role = data.draw(st.sampled_from(["lead", "admin", "bob", "alice", "child_safety"]))
        send(
            target,
            route.method,
            url,
            token=target.tokens[role],
            body=body,
            content_type=content_type,
        )


@FUZZ
@given(data=st.data())
def test_bad_query_parameters(target: Target, data: st.DataObject) -> None:
    """Every GET with random query strings: its own parameters with hostile values,
    unknown ones, repeats."""
    value = HUGE.map(str) | st.integers().map(str) | TEXT
    for route in target.routes:
        if route.method != "GET":
            continue
        url = route.path
        for name in route.path_params:
            url = url.replace("{" + name + "}", valid_segment(target, name))
        names = st.sampled_from(route.query_params or ["x"]) | st.text(max_size=8)
        pairs = data.draw(st.lists(st.tuples(names, value), max_size=6))
        raw = [
            (k.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass"))
            for k, v in pairs
        ]
        query = urlencode(raw)
        token = target.tokens[data.draw(st.sampled_from(["admin", "auditor", "lead", "bob"]))]
        send(target, "GET", f"{url}?{query}" if query else url, token=token)


@FUZZ
@given(
    route_index=st.integers(0, 10**6),
    method=st.sampled_from(METHODS),
    body=st.none() | st.binary(max_size=256),
    content_type=CONTENT_TYPES,
    authorization=st.none()
    | st.sampled_from(["", "Bearer", "Basic eDp5", "Bearer \u00e9\u00e8", "bearer x"])
    | st.from_regex(r"Bearer [!-~]{1,60}", fullmatch=True),
)
def test_wrong_methods_content_types_and_tokens(
    target: Target,
    route_index: int,
    method: str,
    body: bytes | None,
    content_type: str | None,
    authorization: str | None,
) -> None:
    route = target.routes[route_index % len(target.routes)]
    url = route.path
    for name in route.path_params:
        url = url.replace("{" + name + "}", valid_segment(target, name))
    headers: dict[bytes, bytes] = {}
    if authorization is not None:
        headers[b"Authorization"] = authorization.encode("latin-1")
    if content_type is not None:
        headers[b"Content-Type"] = content_type.encode()
    response = target.http.request(method, url, content=body, headers=headers)
    check(response, f"{method} {url} auth={authorization!r} ct={content_type}")
    if route.path != "/v1/keys/report" and method == route.method:
        # FastAPI parses a JSON body before it authenticates: 400/422 may come before 401
        assert response.status_code in (400, 401, 403, 404, 405, 409, 413, 415, 422), response.text


@FUZZ
@given(body=st.binary(max_size=2048), content_type=CONTENT_TYPES)
def test_random_report_bodies(target: Target, body: bytes, content_type: str | None) -> None:
    before = target.stored_reports()
    response = send(
        target,
        "POST",
        "/v1/reports",
        token=target.tokens["bob"],
        body=body,
        content_type=content_type or "application/octet-stream",
    )
    assert 400 <= response.status_code < 500
    assert target.stored_reports() == before


PAYLOAD_IDS = TEXT | st.text(min_size=120, max_size=140) | st.sampled_from(["\x7f", "\u2028"])
PLATFORM_IDS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40) | st.sampled_from(
    ["a\x00b", "\x1f", "c" * 128, "c" * 129, "c" * 256, "é" * 100]
)


def post_report_with(
    target: Target, pid: str, conversation: str, subject: bool
) -> tuple[bool, httpx.Response]:
    """Bob reports two messages from alice in ``conversation``, stamped by the platform;
    one has payload id ``pid`` and is the subject or the context. Returns whether the
    client library accepts (so shows) that payload, and the answer."""
    svc = target.service
    raw = json.dumps({"v": 1, "id": pid, "body": "hostile id", "attachments": []}).encode()
    try:
        parse_payload(raw)
        shown = True
    except PayloadInvalid:
        shown = False
    fk = new_franking_key()
    c = commit(fk, raw)
    t = svc.clock() - 1000
    st_ = stamp(svc.keyring, c, "alice", "bob", conversation, t)
    hostile = FrankedMessage(raw, fk, c, st_.tag, st_.key_id, "alice", "bob", conversation, t)
    other = svc.frank("alice", "bob", "the other message", conversation=conversation)
    messages = [other, hostile] if subject else [hostile, other]
    obj = report_to_json(svc.report("bob", messages, reported=[parse_payload(other.payload).id]))
    if subject:
        obj["reported"] = [pid]
    plain = json.dumps(obj).encode()  # lone surrogates as \u escapes, as JSON allows
    response = send(
        target,
        "POST",
        "/v1/reports",
        token=target.tokens["bob"],
        body=svc.seal(plain),
        content_type="application/octet-stream",
    )
    return shown, response


def check_reportable(target: Target, pid: str, conversation: str, subject: bool) -> None:
    before = target.stored_reports()
    shown, response = post_report_with(target, pid, conversation, subject)
    if response.status_code == 201:
        assert target.stored_reports() == before + 1
        assert shown
        return
    assert target.stored_reports() == before
    code = response.json()["error"]["code"]
    if shown:
        # only the conversation id may be refused, by the report format (not storable)
        assert (response.status_code, code) == (400, "report_invalid"), response.text
        assert not re.fullmatch(r"[^\x00-\x1f]{1,128}", conversation)
    else:
        assert (response.status_code, code) in {(422, "payload_invalid"), (400, "report_invalid")}


@FUZZ
@given(pid=PAYLOAD_IDS, conversation=PLATFORM_IDS, subject=st.booleans())
def test_whatever_a_client_shows_can_be_reported(
    target: Target, pid: str, conversation: str, subject: bool
) -> None:
    """The sender controls ``P`` (the relay stamps only its commitment) and a platform may
    stamp any conversation id: a message whose payload the client library accepts (so
    shows) must be reportable, as the subject or as context; one it refuses is
    ``payload_invalid``. Nothing in between: no 5xx, no unstorable verified report."""
    check_reportable(target, pid, conversation, subject)
