"""Role separation, CSRF, session cookies, expiry and sign-out, in a real chromium.

A general moderator never sees a child-safety item, its thumbnail or its count, whether
by clicking or by typing URLs; every state change needs the session's CSRF token; the
session is a database row behind an HttpOnly, SameSite=Strict cookie that ends on sign-out,
after the idle timeout, and when the moderator is revoked.
"""

from __future__ import annotations

import hashlib
from typing import Any

from playwright.sync_api import expect

from report_service.review.audit.store import AuditFilter
from tests.report_service.console.conftest import Live, csrf_of, sign_in


def actions(live: Live, actor: str) -> list[str]:
    page = live.shift.app.state.review.audit_entries(
        AuditFilter(actor, None, None, None, None, after_seq=0, limit=1000)
    )
    return [e.action for e in page.entries]


def test_a_general_moderator_never_sees_child_safety(browser: Any, live: Live) -> None:
    context = browser.new_context()
    page = context.new_page()
    seen: list[str] = []
    page.on("response", lambda r: seen.append(r.url))
    sign_in(page, live, "mia")
    html = page.content()
    assert 'data-queue="child_safety"' not in html
    assert "Child safety" not in page.locator("main").inner_text()
    assert page.locator("tr[data-queue]").count() == 1
    assert page.locator('tr[data-queue="general"] td').nth(0).inner_text() == "2"

    # by clicking: claim everything there is; item 3 never comes
    for _ in range(3):
        page.get_by_role("link", name="Queues").click()
        page.get_by_role("button", name="Claim next item").click()
        assert not page.url.endswith("/items/3")
    assert "Nothing to claim" in page.locator(".flash").inner_text()

    # by typing URLs: the item, its thumbnail and the queue answer as if they did not exist
    sha = hashlib.sha256(live.shift.pictures[3]).hexdigest()
    r = page.goto(f"{live.url}/console/items/3")
    assert r is not None
    assert r.status == 404
    assert "erin" not in page.content()
    assert "keep this between us" not in page.content()
    r = page.goto(f"{live.url}/console/items/3/media/{sha}")
    assert r is not None
    assert r.status == 404
    assert r.headers["content-type"].startswith("text/html")
    token = csrf_of(page)
    post = page.request.post(
        f"{live.url}/console/queues/child_safety/claim", form={"csrf": token}, max_redirects=0
    )
    assert post.status == 403
    post = page.request.post(
        f"{live.url}/console/items/3/media/{sha}/reveal",
        form={"csrf": token, "reason": "typing a URL to get around the queue"},
    )
    assert post.status == 404
    assert not any("/items/3" in a for a in seen if "/media/" in a and a.endswith(".png"))
    assert "claim" in actions(live, "mia")
    child_entries = live.shift.app.state.review.audit_entries(
        AuditFilter("mia", None, 3, None, None, after_seq=0, limit=100)
    )
    assert child_entries.entries == []
    context.close()

    # a lead reads any general item without a lease, but never a child-safety one
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "lee")
    assert 'data-queue="child_safety"' not in page.content()
    r = page.goto(f"{live.url}/console/items/2")
    assert r is not None
    assert r.status == 200
    r = page.goto(f"{live.url}/console/items/3")
    assert r is not None
    assert r.status == 404
    r = page.goto(f"{live.url}/console/items/3/media/{sha}")
    assert r is not None
    assert r.status == 404
    context.close()

    # the child-safety role sees that queue and the item
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "cleo")
    assert page.locator('tr[data-queue="child_safety"] td').nth(0).inner_text() == "1"
    page.get_by_role("button", name="Claim from Child safety").click()
    assert page.url.endswith("/console/items/3")
    assert page.locator("img.thumb").evaluate("img => img.decode().then(() => img.naturalWidth)")
    context.close()


def test_csrf_is_required_for_every_state_change(browser: Any, live: Live) -> None:
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "mia")
    good = csrf_of(page)
    for form in ({}, {"csrf": ""}, {"csrf": "0" * 64}):
        for path in ("/console/claim-next", "/console/queues/general/claim", "/console/signout"):
            r = page.request.post(f"{live.url}{path}", form=form, max_redirects=0)
            assert r.status == 403, (path, form)
            assert "csrf_failed" in r.text()
    assert "claim" not in actions(live, "mia")
    # a JSON-style heartbeat without the header is refused too
    r = page.request.post(f"{live.url}/console/items/1/heartbeat")
    assert r.status == 403
    # the right token works
    r = page.request.post(f"{live.url}/console/claim-next", form={"csrf": good}, max_redirects=0)
    assert r.status == 303
    assert actions(live, "mia").count("claim") == 1
    # the sign-in form has its own token: a cross-site sign-in is refused
    fresh = browser.new_context()
    r = fresh.request.post(
        f"{live.url}/console/signin",
        form={"token": live.shift.tokens["mia"], "csrf": "x"},
        max_redirects=0,
    )
    assert r.status == 303
    assert "msg=expired" in r.headers["location"]
    assert not fresh.cookies()
    fresh.close()
    context.close()


def test_cookie_flags_expiry_heartbeat_signout_and_revocation(browser: Any, live: Live) -> None:
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "mia")
    (cookie,) = [c for c in context.cookies() if c["name"] == "frankly_console"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/console"
    assert cookie["secure"] is False  # plain HTTP on loopback; Secure when served over HTTPS
    assert page.evaluate("document.cookie") == ""
    r = page.goto(f"{live.url}/console/queues")
    assert r is not None
    assert "'unsafe-inline'" not in r.headers["content-security-policy"]
    assert "script-src 'self'" in r.headers["content-security-policy"]

    # the lease countdown is kept alive by the page's heartbeat
    page.clock.install()
    page.get_by_role("button", name="Claim next item").click()
    # the countdown script (deferred) must have run before the fake clock moves, or no
    # heartbeat is scheduled yet: on a loaded machine the click returns first (and a bare
    # load-state wait can still answer for the queues page: wait for the item's URL)
    page.wait_for_url("**/console/items/*", wait_until="load")
    lease = page.locator("#lease-left")
    assert lease.get_attribute("data-beats") is None
    review = live.shift.app.state.review
    mia = review.authenticate(live.shift.tokens["mia"])
    before = review.my_claims(mia).claims[0].lease.expires_at
    live.shift.clock.advance(5 * 60_000)
    page.clock.run_for(61_000)
    expect(lease).to_have_attribute("data-beats", "1")
    after = review.my_claims(mia).claims[0].lease.expires_at
    assert after == before + 5 * 60_000

    # idle timeout: 31 minutes without a request ends the session
    live.shift.clock.advance(31 * 60_000)
    page.goto(f"{live.url}/console/queues")
    assert "/console/signin" in page.url
    assert "Your session ended" in page.locator(".flash").inner_text()

    # sign out ends the session row: the old cookie no longer works anywhere
    sign_in(page, live, "mia")
    (old,) = [c["value"] for c in context.cookies() if c["name"] == "frankly_console"]
    page.get_by_role("button", name="Sign out").click()
    assert "Signed out." in page.locator(".flash").inner_text()
    other = browser.new_context()
    other.add_cookies([{"name": "frankly_console", "value": old, "url": f"{live.url}/console"}])
    r = other.request.get(f"{live.url}/console/queues", max_redirects=0)
    assert r.status == 303
    assert "/console/signin" in r.headers["location"]
    other.close()

    # revoking the moderator ends its live sessions at once
    sign_in(page, live, "mia")
    assert page.url.endswith("/console/queues")
    admin = browser.new_context()
    apage = admin.new_page()
    sign_in(apage, live, "ada")
    assert apage.url.endswith("/console/moderators")
    apage.get_by_role("button", name="Revoke mia").click()
    assert "Account revoked." in apage.locator(".flash").inner_text()
    admin.close()
    page.reload()
    assert "/console/signin" in page.url
    context.close()
