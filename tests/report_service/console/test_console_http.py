"""The console over plain HTTP (no browser): cookie flags over HTTPS, security headers on
every console answer (and none added to the JSON API), escaping of reporters' words, and
HTML answers, never a crash, for malformed input."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client_scan.report_format import Reason
from report_service.app import create_app
from report_service.observability import LOGGER_NAME
from report_service.review.audit.store import AuditFilter
from report_service.server import BackgroundServer
from tests.report_service.console.shift_data import Shift, build_app

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[Shift, str]]:
    """One hostile report, on SQLite and on PostgreSQL."""
    shift = build_app(tmp_path / "data", database_url)
    try:
        with BackgroundServer(shift.app) as url:
            msg = shift.frank("alice", "bob", HOSTILE, "c-x")
            with httpx.Client(base_url=url, timeout=30) as http:
                shift.submit(http, "bob", [msg], Reason.HARASSMENT, HOSTILE, {})
            yield shift, url
    finally:
        shift.app.state.engine.dispose()


def signed_in(url: str, token: str) -> tuple[httpx.Client, str]:
    http = httpx.Client(base_url=url, follow_redirects=True, timeout=30)
    form = http.get("/console/signin").text
    login = re.search(r'name="csrf" value="([0-9a-f]{64})"', form)
    assert login is not None
    page = http.post("/console/signin", data={"csrf": login[1], "token": token})
    assert page.status_code == 200
    csrf = re.search(r'name="csrf-token" content="([0-9a-f]{64})"', page.text)
    assert csrf is not None
    return http, csrf[1]


def test_security_headers_escaping_and_malformed_input(served: tuple[Shift, str]) -> None:
    shift, url = served
    http, csrf = signed_in(url, shift.tokens["mia"])
    try:
        for path, ctype in (
            ("/console/static/console.js", "javascript"),
            ("/console/static/console.css", "text/css"),
            ("/console/queues", "text/html"),
        ):
            r = http.get(path)
            assert r.status_code == 200
            assert ctype in r.headers["content-type"]
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert "default-src 'none'" in r.headers["content-security-policy"]
            assert "unsafe" not in r.headers["content-security-policy"]
        # the JSON API keeps its own headers
        api = http.get("/v1/review/me", headers={"Authorization": f"Bearer {shift.tokens['mia']}"})
        assert api.status_code == 200
        assert "content-security-policy" not in api.headers

        page = http.post("/console/claim-next", data={"csrf": csrf})
        assert page.url.path == "/console/items/1"
        assert HOSTILE not in page.text
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page.text
        assert page.text.count("<script") == 1  # the console's own, from /console/static

        for bad in ("abc", "0", "-1", "99999999999", "1.5", "²", "١"):
            r = http.get(f"/console/items/{bad}")
            assert r.status_code == 422, bad
            assert r.headers["content-type"].startswith("text/html")
        r = http.get("/console/items/1/media/" + "z" * 64)
        assert r.status_code == 404
        r = http.post("/console/queues/nope/claim", data={"csrf": csrf})
        assert r.status_code == 404
        r = http.post("/console/items/1/decision", data={"csrf": csrf, "note": "x" * 9000})
        assert r.status_code == 422
        r = http.post(
            "/console/items/1/decision",
            data={"csrf": csrf, "decision": "ban_forever", "policy": "p"},
        )
        assert r.status_code == 422
        assert "unknown decision" in r.text
        many = "&".join(f"f{i}=x" for i in range(100))
        r = http.post(
            "/console/settings",
            content=f"csrf={csrf}&{many}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 422
        r = http.post(
            "/console/settings",
            content=b"csrf=" + csrf.encode() + b"&blur_level=\xff\xfe",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 422
        r = http.post(
            "/console/settings", data={"csrf": csrf, "blur_level": "²", "break_minutes": "²"}
        )
        assert r.status_code == 422
        assert http.get("/console/queues", params={"item": "²"}).status_code == 200
        assert http.get("/console/open", params={"item": "²"}).status_code == 422
        r = http.post("/console/settings", data={"csrf": csrf, "blur_level": "9"})
        assert r.status_code == 422
        r = http.get("/console/audit")
        assert r.status_code == 403  # a moderator reads no audit log
    finally:
        http.close()


def test_the_cookie_is_secure_over_https(served: tuple[Shift, str]) -> None:
    shift, url = served

    async def go() -> list[str]:
        transport = httpx.ASGITransport(app=shift.app)
        async with httpx.AsyncClient(transport=transport, base_url="https://console.test") as c:
            form = (await c.get("/console/signin")).text
            login = re.search(r'name="csrf" value="([0-9a-f]{64})"', form)
            assert login is not None
            r = await c.post(
                "/console/signin", data={"csrf": login[1], "token": shift.tokens["mia"]}
            )
            assert r.status_code == 303
            return r.headers.get_list("set-cookie")

    cookies = asyncio.run(go())
    (session,) = [c for c in cookies if c.startswith("frankly_console=")]
    flags = {part.strip().lower() for part in session.split(";")}
    assert {"httponly", "secure", "samesite=strict", "path=/console"} <= flags

    # behind a TLS proxy on the same host: uvicorn trusts X-Forwarded-Proto from loopback
    proxied = {"X-Forwarded-Proto": "https"}
    with httpx.Client(base_url=url, headers=proxied, timeout=30) as http:
        page = http.get("/console/signin")
        assert "secure" in page.headers["set-cookie"].lower()
        login = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
        assert login is not None
        # (the client speaks plain HTTP to the "proxy" so it holds back Secure cookies)
        r = http.post(
            "/console/signin",
            data={"csrf": login[1], "token": shift.tokens["mia"]},
            headers={"Cookie": f"frankly_console_signin={login[1]}"},
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/console/queues"
        assert "secure" in r.headers["set-cookie"].lower()


def test_a_session_opened_on_one_server_process_works_on_another(
    served: tuple[Shift, str],
) -> None:
    """Two apps (as two `frankly serve` processes) on one database: sign in on the first,
    carry on with the same cookie and CSRF token on the second."""
    shift, url_a = served
    settings = shift.app.state.settings
    app_b = create_app(settings, keys=shift.keys, clock=shift.clock)
    try:
        with BackgroundServer(app_b) as url_b:
            http, csrf = signed_in(url_a, shift.tokens["mia"])
            try:
                cookie = http.cookies["frankly_console"]
                with httpx.Client(base_url=url_b, follow_redirects=True, timeout=30) as other:
                    other.cookies.set("frankly_console", cookie, path="/console")
                    page = other.post("/console/claim-next", data={"csrf": csrf})
                    assert page.status_code == 200
                    assert page.url.path == "/console/items/1"
                    out = other.post("/console/signout", data={"csrf": csrf})
                    assert out.url.path == "/console/signin"
                # signed out on B: the first process no longer knows the session either
                again = http.get("/console/queues")
                assert again.url.path == "/console/signin"
            finally:
                http.close()
    finally:
        app_b.state.engine.dispose()


def test_the_auditor_pages_and_filters_the_log(served: tuple[Shift, str]) -> None:
    shift, url = served
    review = shift.app.state.review
    mia = review.authenticate(shift.tokens["mia"])
    for _ in range(30):  # 60 entries by mia: more than one page
        review.claim(mia, "general")
        review.release(mia, 1)
    http, _csrf = signed_in(url, shift.tokens["aldo"])
    try:
        first = http.get("/console/audit", params={"actor": "mia"})
        assert first.status_code == 200
        seqs = [
            int(s) for s in re.findall(r'<tr data-action="\w+"><td class="num">(\d+)', first.text)
        ]
        assert len(seqs) == 50
        nxt = re.search(r'href="(/console/audit\?after=\d+[^"]*)"', first.text)
        assert nxt is not None
        second = http.get(nxt[1].replace("&amp;", "&"))
        more = [
            int(s) for s in re.findall(r'<tr data-action="\w+"><td class="num">(\d+)', second.text)
        ]
        assert len(more) == 10
        assert min(more) > max(seqs)
        assert set(re.findall(r'<tr data-action="(\w+)">', second.text)) == {"claim", "release"}
        # by day: everything happened on 2026-01-01 (the service clock)
        day = http.get("/console/audit", params={"since": "2026-01-01", "until": "2026-01-01"})
        assert len(re.findall(r"<tr data-action=", day.text)) == 50
        none = http.get("/console/audit", params={"since": "2026-01-02"})
        assert "No entries." in none.text
        for bad_query in ({"since": "yesterday"}, {"actor": "mi\x00a"}, {"action": "x" * 33}):
            bad = http.get("/console/audit", params=bad_query)
            assert bad.status_code == 422, bad_query
        assert http.get("/console/queues").status_code == 403  # an auditor reviews nothing
    finally:
        http.close()
    http, csrf = signed_in(url, shift.tokens["ada"])
    try:
        for name, status in (("mi%00a", 422), ("nobody", 404), ("x" * 65, 422)):
            r = http.post(f"/console/moderators/{name}/revoke", data={"csrf": csrf})
            assert r.status_code == status, name
        r = http.post("/console/moderators", data={"csrf": csrf, "name": "a\x00b", "role": "lead"})
        assert r.status_code in (400, 422)
        r = http.post("/console/moderators", data={"csrf": csrf, "name": "ok", "role": "king"})
        assert r.status_code in (400, 422)
    finally:
        http.close()


def test_signing_in_again_ends_the_session_the_browser_held(served: tuple[Shift, str]) -> None:
    shift, url = served
    http, _ = signed_in(url, shift.tokens["mia"])
    try:
        first = http.cookies["frankly_console"]
        form = http.get("/console/signin").text
        login = re.search(r'name="csrf" value="([0-9a-f]{64})"', form)
        assert login is not None
        http.post("/console/signin", data={"csrf": login[1], "token": shift.tokens["lee"]})
        second = http.cookies["frankly_console"]
        assert second != first
        assert "lee" in http.get("/console/queues").text
    finally:
        http.close()
    with httpx.Client(base_url=url, timeout=30) as other:
        other.cookies.set("frankly_console", first, path="/console")
        r = other.get("/console/queues")
        assert r.status_code == 303
        assert r.headers["location"].startswith("/console/signin")


def link_signin(url: str, code: str) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=30) as browser:
        page = browser.get("/console/link", params={"code": code})
        assert page.status_code == 200
        login = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
        assert login is not None
        form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
        assert form["code"] == code
        return browser.post("/console/link", data=form)


def test_a_one_time_sign_in_link_works_once(
    served: tuple[Shift, str], caplog: pytest.LogCaptureFixture
) -> None:
    shift, url = served
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    admin, csrf = signed_in(url, shift.tokens["ada"])
    try:
        made = admin.post("/console/moderators/lee/link", data={"csrf": csrf})
        assert made.status_code == 201
        found = re.search(r'<code id="signin-link">([^<]+)</code>', made.text)
        assert found is not None
        link = httpx.URL(found[1].replace("&amp;", "&"))
        assert link.path == "/console/link"
        code = link.params["code"]
        assert re.fullmatch("[0-9a-f]{64}", code)
        # only an admin makes links, only for an active account
        assert admin.post("/console/moderators/nobody/link", data={"csrf": csrf}).status_code == 404
    finally:
        admin.close()
    mia, mia_csrf = signed_in(url, shift.tokens["mia"])
    try:
        assert mia.post("/console/moderators/lee/link", data={"csrf": mia_csrf}).status_code == 403
    finally:
        mia.close()

    used = link_signin(url, code)
    assert used.status_code == 303
    assert used.headers["location"] == "/console/queues"
    assert "frankly_console=" in used.headers["set-cookie"]
    again = link_signin(url, code)
    assert again.headers["location"] == "/console/signin?msg=link"
    assert "frankly_console=" not in again.headers.get("set-cookie", "")
    # expired, and unknown, links do nothing either
    sessions = shift.app.state.console_sessions
    ada = shift.app.state.review.authenticate(shift.tokens["ada"])
    stale, _ = sessions.create_link(ada, "lee")
    shift.clock.advance(15 * 60 * 1000 + 1)
    assert link_signin(url, stale).headers["location"].endswith("msg=link")
    assert link_signin(url, "0" * 64).headers["location"].endswith("msg=link")
    # the code never reaches the audit log; its making and its use do
    log = shift.app.state.review.audit_entries(
        AuditFilter(None, None, None, None, None, after_seq=0, limit=1000)
    ).entries
    assert [(e.actor, e.action) for e in log if e.action.startswith("signin_link")] == [
        ("ada", "signin_link_add"),
        ("lee", "signin_link_use"),
        ("ada", "signin_link_add"),
    ]
    assert all(code not in str(e.detail) and stale not in str(e.detail) for e in log)
    # nor the service's log, which records each request's path
    paths = [getattr(r, "path", "") for r in caplog.records]
    assert "/console/link" in paths
    assert code not in caplog.text
    assert all(code not in str(r.__dict__) for r in caplog.records)


def test_heartbeats_keep_the_lease_but_not_an_unattended_session(
    served: tuple[Shift, str],
) -> None:
    shift, url = served
    http, csrf = signed_in(url, shift.tokens["mia"])
    try:
        assert http.post("/console/claim-next", data={"csrf": csrf}).url.path == "/console/items/1"
        beat = {"X-CSRF-Token": csrf, "Accept": "application/json"}
        for _ in range(5):  # 25 minutes of heartbeats with nobody at the keyboard
            shift.clock.advance(5 * 60_000)
            r = http.post("/console/items/1/heartbeat", headers=beat)
            assert r.status_code == 200
            assert r.json()["remaining_ms"] == 10 * 60_000
        shift.clock.advance(6 * 60_000)  # 31 minutes since the last page the moderator opened
        r = http.post("/console/items/1/heartbeat", headers=beat)
        assert r.status_code == 401
        assert http.get("/console/queues").url.path == "/console/signin"
    finally:
        http.close()


def test_the_admin_rotates_a_token_and_its_sessions_end(served: tuple[Shift, str]) -> None:
    pytest.importorskip("report_service.review.moderators.tokens")
    shift, url = served
    lee, _ = signed_in(url, shift.tokens["lee"])
    admin, csrf = signed_in(url, shift.tokens["ada"])
    try:
        r = admin.post("/console/moderators/lee/rotate", data={"csrf": csrf})
        assert r.status_code == 200
        assert "New token for" in r.text
        token = re.search(r'<code id="new-token">([^<]+)</code>', r.text)
        assert token is not None
        assert (
            admin.post("/console/moderators/nobody/rotate", data={"csrf": csrf}).status_code == 404
        )
        assert lee.get("/console/queues").url.path == "/console/signin"  # its session ended
        fresh, _ = signed_in(url, token[1])  # the new token signs in
        fresh.close()
        with httpx.Client(base_url=url, timeout=30) as old:
            form = old.get("/console/signin").text
            login = re.search(r'name="csrf" value="([0-9a-f]{64})"', form)
            assert login is not None
            r = old.post("/console/signin", data={"csrf": login[1], "token": shift.tokens["lee"]})
            assert r.status_code == 401
    finally:
        lee.close()
        admin.close()
    mia, mia_csrf = signed_in(url, shift.tokens["mia"])
    try:
        assert (
            mia.post("/console/moderators/lee/rotate", data={"csrf": mia_csrf}).status_code == 403
        )
    finally:
        mia.close()
    log = shift.app.state.review.audit_entries(
        AuditFilter(None, "moderator_rotate", None, None, None, after_seq=0, limit=10)
    ).entries
    assert [(e.actor, e.detail["name"]) for e in log] == [("ada", "lee")]
