"""A keyboard-only shift, and axe-core (vendored, injected locally) on every page: no
serious or critical accessibility violation."""

from __future__ import annotations

from typing import Any

from report_service.console.sessions import Preferences
from report_service.review.audit.store import AuditFilter
from tests.report_service.console.conftest import PAGE_TIMEOUT_MS, Live, axe_violations, sign_in


def type_token(page: Any, token: str) -> None:
    """Type a token into the sign-in form, once its field has focus, as a keyboard user
    would. Chromium applies ``autofocus`` at its next rendering update, which can come
    after the load event: keys pressed before it go to the page, not to the field."""
    page.wait_for_function("document.activeElement && document.activeElement.id === 'token'")
    page.keyboard.type(token)


def test_a_keyboard_only_shift(browser: Any, live: Live) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(f"{live.url}/console/signin")
    # the token field has focus; type, Enter
    type_token(page, live.shift.tokens["mia"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/queues")
    page.keyboard.press("?")
    assert page.locator("#shortcuts").get_attribute("open") is not None
    page.keyboard.press("n")  # claim next
    page.wait_for_url("**/console/items/1")
    page.keyboard.press("v")  # the first image's reveal reason
    page.keyboard.type("checking the picture matches the bank entry")
    page.keyboard.press("Enter")
    page.wait_for_selector("img.original")
    page.keyboard.press("Escape")
    page.keyboard.press("d")  # decision
    page.keyboard.type("Warn")
    page.keyboard.press("Escape")
    page.keyboard.press("p")  # policy
    page.keyboard.type("harassment/2.0")
    page.keyboard.press("Escape")
    page.keyboard.press("t")  # note
    page.keyboard.type("first offence")
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # bank the image's hashes
    page.keyboard.press("s")  # record
    page.wait_for_url("**/console/queues?msg=decided&item=1")
    page.keyboard.press("n")
    page.wait_for_url("**/console/items/2")
    page.keyboard.press("l")  # release undecided
    page.wait_for_url("**/console/queues?msg=released&item=2")
    page.keyboard.press("x")  # sign out
    page.wait_for_url("**/console/signin?msg=signed_out")

    entries = live.shift.app.state.review.audit_entries(
        AuditFilter("mia", None, None, None, None, after_seq=0, limit=100)
    ).entries
    steps = [(e.action, e.item_id) for e in entries if e.action != "item_view"]
    assert [s for s in steps if s[0] != "media_view"] == [
        ("claim", 1),
        ("media_reveal", 1),
        ("decide", 1),
        ("bank_media", 1),
        ("claim", 2),
        ("release", 2),
    ]
    decided = next(e for e in entries if e.action == "decide")
    assert decided.detail["decision"] == "warn_sender"
    assert decided.detail["policy"] == "harassment/2.0"

    # a lead reopens it, keyboard only
    type_token(page, live.shift.tokens["lee"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/queues")
    page.keyboard.press("g")  # open an item by number
    page.keyboard.type("1")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/items/1")
    page.keyboard.press("o")  # reopen reason
    page.keyboard.type("warning was the wrong call here")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/items/1?msg=reopened")
    reopened = live.shift.app.state.review.audit_entries(
        AuditFilter("lee", "reopen", 1, None, None, after_seq=0, limit=10)
    ).entries
    assert [e.detail["reason"] for e in reopened] == ["warning was the wrong call here"]
    context.close()


def test_no_serious_accessibility_violation_on_any_page(browser: Any, live: Live) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    checked: dict[str, list[dict[str, Any]]] = {}
    problems: list[str] = []  # script errors, CSP violations, failed loads on any page
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def check(name: str) -> None:
        page.wait_for_load_state("load")  # a click's navigation may still be under way
        checked[name] = axe_violations(page)

    page.goto(f"{live.url}/console/signin")
    check("signin")
    sign_in(page, live, "lee")
    check("queues")
    page.get_by_role("button", name="Claim next item").click()
    check("item")
    page.get_by_label("Reason to reveal this image").fill("accessibility check of the reveal")
    page.get_by_role("button", name="Reveal original").click()
    check("item revealed")
    page.get_by_role("link", name="Settings").click()
    check("settings")
    page.goto(f"{live.url}/console/items/999")
    check("error")
    live.shift.app.state.console_sessions.save_preferences("cleo", Preferences(2, True, 5))
    sign_in(page, live, "cleo")
    page.get_by_role("button", name="Claim from Child safety").click()
    # The claim must be served before the service's clock moves (or the reminder is not
    # due yet), and reloading mid-navigation detaches the page: wait for the item page.
    page.wait_for_url("**/console/items/*", wait_until="load")
    live.shift.clock.advance(6 * 60_000)  # past the 5-minute reminder, within the lease
    page.reload()
    assert page.locator("#break-reminder").is_visible()
    check("child-safety item with break reminder")
    sign_in(page, live, "aldo")
    page.get_by_role("button", name="Verify the chain").click()
    check("audit")
    sign_in(page, live, "ada")
    check("moderators")
    page.get_by_label("Name").fill("newbie")
    page.get_by_role("button", name="Add account").click()
    assert len(page.locator("#new-token").inner_text()) >= 40
    check("moderator created")
    page.get_by_role("button", name="Sign-in link for lee").click()
    check("sign-in link made")
    page.goto(page.locator("#signin-link").inner_text())
    check("sign-in link page")
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/console/queues")
    assert "lee" in page.locator("header").inner_text()
    # the one failed load is the deliberate 404 page (item 999)
    assert problems == [
        "Failed to load resource: the server responded with a status of 404 (Not Found)"
    ]
    # a control: axe does run and would catch a picture without a text alternative
    page.evaluate("() => document.querySelector('main').append(document.createElement('img'))")
    assert "image-alt" in [v["id"] for v in axe_violations(page)]
    context.close()
    bad = {k: [(v["id"], v["impact"], v["help"]) for v in vs] for k, vs in checked.items() if vs}
    assert bad == {}
    assert len(checked) == 12
