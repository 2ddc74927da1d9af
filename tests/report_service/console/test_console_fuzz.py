"""Whatever a browser (or anyone) sends to the console, the answer is a page or a
redirect, never a 5xx: random paths, query strings and form bodies, signed in as each
role, with and without the CSRF token."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from report_service.server import BackgroundServer
from tests.report_service.console.shift_data import Shift, build_app, seed

POSTS = [
    "/console/signin",
    "/console/signout",
    "/console/claim-next",
    "/console/queues/{x}/claim",
    "/console/items/{x}/heartbeat",
    "/console/items/{x}/release",
    "/console/items/{x}/decision",
    "/console/items/{x}/reopen",
    "/console/items/{x}/media/{x}/reveal",
    "/console/moderators",
    "/console/moderators/{x}/revoke",
    "/console/moderators/{x}/link",
    "/console/link",
    "/console/settings",
    "/console/break",
    "/console/cybertipline/{x}/approve",
    "/console/holds",
    "/console/holds/{x}/release",
]
GETS = [
    "/console",
    "/console/signin",
    "/console/queues",
    "/console/open",
    "/console/items/{x}",
    "/console/items/{x}/media/{x}",
    "/console/audit",
    "/console/moderators",
    "/console/settings",
    "/console/link",
    "/console/cybertipline",
    "/console/cybertipline/{x}",
    "/console/holds",
]
FIELDS = ["csrf", "token", "reason", "decision", "policy", "note", "bank_media", "name", "role"]
FIELDS += ["blur_level", "grayscale", "break_minutes", "item", "actor", "action", "after"]
FIELDS += ["since", "until", "verify", "code"]
FIELDS += ["classification", "screen_name", "escalate_to_high_priority", "publicly_available"]
FIELDS += ["file_" + "0" * 64, "kind", "target", "days", "indefinite", "reference", "force"]
FIELDS += ["status", "all", "report_id"]
segment = st.one_of(
    st.sampled_from(["1", "2", "3", "0", "²", "general", "child_safety", "mia", "a" * 64]),
    st.text(min_size=1, max_size=70).map(lambda t: t.replace("/", "_")),
)
values = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["1", "on", "²", "2026-01-01", "0" * 64, "A1", "item", "report", "failed"]),
)


@pytest.fixture
def shift(tmp_path: Path) -> Iterator[Shift]:
    s = build_app(tmp_path / "data")
    try:
        with BackgroundServer(s.app) as url:
            seed(s, url)
        # a safety lead whose decision on the child-safety item prepared CyberTipline
        # report 1, so the escalation pages have something to act on
        review = s.app.state.review
        s.tokens["sol"] = review.add_moderator("setup", "sol", "safety_lead").token
        sol = review.authenticate(s.tokens["sol"])
        review.claim(sol, "child_safety")
        review.decide(sol, 3, "suspend_sender", "csam/1.0", "confirmed")
        yield s
    finally:
        s.app.state.engine.dispose()


def call(shift: Shift, role: str | None, method: str, path: str, **kw: object) -> int:
    async def go() -> int:
        transport = httpx.ASGITransport(app=shift.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as c:
            csrf = ""
            if role is not None:
                form = (await c.get("/console/signin")).text
                login = re.search(r'name="csrf" value="([0-9a-f]{64})"', form)
                assert login is not None
                page = await c.post(
                    "/console/signin",
                    data={"csrf": login[1], "token": shift.tokens[role]},
                    follow_redirects=True,
                )
                found = re.search(r'name="csrf-token" content="([0-9a-f]{64})"', page.text)
                assert found is not None
                csrf = found[1]
            data = kw.pop("data", None)
            if isinstance(data, dict) and data.get("csrf") == "GOOD":
                data["csrf"] = csrf
            r = await c.request(method, path, data=data, **kw)  # type: ignore[arg-type]
            return r.status_code

    return asyncio.run(go())


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    role=st.sampled_from([None, "mia", "cleo", "lee", "aldo", "ada", "sol"]),
    post=st.booleans(),
    template=st.integers(0, 100),
    parts=st.lists(segment, min_size=2, max_size=2),
    fields=st.dictionaries(st.sampled_from(FIELDS), values, max_size=6),
    good_csrf=st.booleans(),
)
def test_no_input_makes_the_console_fail(
    shift: Shift,
    role: str | None,
    post: bool,
    template: int,
    parts: list[str],
    fields: dict[str, str],
    good_csrf: bool,
) -> None:
    paths = POSTS if post else GETS
    path = paths[template % len(paths)]
    for p in parts:
        path = path.replace("{x}", quote(p, safe="") or "_", 1)
    if post:
        if good_csrf:
            fields = {**fields, "csrf": "GOOD"}
        status = call(shift, role, "POST", path, data=fields)
    else:
        status = call(shift, role, "GET", path, params=fields)
    assert status < 500, (path, fields)
