"""The escalation pages of the console in a real chromium: CyberTipline reports (list,
what is sent, approval by a second safety lead, a failed report's retry) and
preservation holds (place, release), with their roles, CSRF tokens and axe checks.

The end-to-end test goes from a child-safety decision through the console's approval
to the local CyberTipline stand-in receiving the report from the submitter, and the
NCMEC preservation hold the submission places showing on the holds page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from report_service.escalation.ncmec import wiring
from report_service.escalation.ncmec.client import CyberTiplineClient
from report_service.escalation.ncmec.flow import RetryPolicy, Submitter
from report_service.escalation.ncmec.local_server import PASSWORD, USER, CyberTipServer
from report_service.escalation.ncmec.schemas import ApproveIn
from report_service.review.audit.store import AuditFilter
from report_service.review.media.evidence_access import MasterKeyEvidence
from report_service.server import BackgroundServer
from tests.report_service.console.conftest import Live, axe_violations, csrf_of, sign_in
from tests.report_service.escalation.ncmec.ncmec_support import PROFILE

CHILD_ITEM = 3  # the seeded child-safety item (erin -> carol, one picture)


@dataclass
class Tipline:
    """The seeded console, two safety leads (``sol`` decided item 3, ``sam`` did not),
    the local CyberTipline stand-in and its URL."""

    live: Live
    server: CyberTipServer
    url: str

    def submitter(self, client: CyberTiplineClient) -> Submitter:
        shift = self.live.shift
        events, preserve = wiring.hooks(shift.app.state.settings, shift.clock)
        return Submitter(
            shift.app.state.session_factory,
            shift.clock,
            MasterKeyEvidence(lambda kid: shift.keys.master_key(kid).key),
            PROFILE,
            client,
            owner="console-test",
            events=events,
            on_submitted=preserve,
            policy=RetryPolicy(attempts_per_pass=1, base_delay_s=0.01, max_attempts=3),
            sleep=lambda _s: None,
        )

    def send(self) -> list[int]:
        """One pass of the submitter; the reports it worked on."""
        client = CyberTiplineClient(self.url + "/ispws", USER, PASSWORD, timeout_s=5.0)
        try:
            return self.submitter(client).run_once()
        finally:
            client.close()


@pytest.fixture
def tipline(live: Live) -> Iterator[Tipline]:
    review = live.shift.app.state.review
    for name in ("sol", "sam"):
        live.shift.tokens[name] = review.add_moderator("setup", name, "safety_lead").token
    sol = review.authenticate(live.shift.tokens["sol"])
    claimed = review.claim(sol, "child_safety")
    assert claimed.item.id == CHILD_ITEM
    review.decide(sol, CHILD_ITEM, "suspend_sender", "csam/1.0", "confirmed")
    server = CyberTipServer()
    with BackgroundServer(server.app()) as url:
        yield Tipline(live, server, url)


def actions(live: Live, actor: str) -> list[str]:
    page = live.shift.app.state.review.audit_entries(
        AuditFilter(actor, None, None, None, None, after_seq=0, limit=1000)
    )
    return [e.action for e in page.entries]


def nav_labels(page: Any) -> list[str]:
    return [t.split(" ")[0] for t in page.locator('nav[aria-label="Main"] a').all_inner_texts()]


def report_status(live: Live, rid: int = 1) -> str:
    return str(live.shift.app.state.ncmec.show(None, rid).status)


def test_approval_end_to_end_reaches_the_cybertipline(browser: Any, tipline: Tipline) -> None:
    live = tipline.live
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    sign_in(page, live, "sol")
    assert "CyberTipline" in nav_labels(page)
    assert "Holds" not in nav_labels(page)
    page.get_by_role("link", name="CyberTipline").click()
    page.wait_for_url(f"{live.url}/console/cybertipline")
    page.wait_for_load_state("load")
    row = page.locator('tr[data-report="1"]')
    expect(row).to_have_attribute("data-status", "prepared")
    assert "erin" in row.inner_text()
    assert axe_violations(page) == []
    page.get_by_role("link", name="Prepared").click()
    page.wait_for_url(f"{live.url}/console/cybertipline?status=prepared")
    page.wait_for_load_state("load")
    expect(page.locator('tr[data-report="1"]')).to_have_count(1)
    page.get_by_role("link", name="ct-1").click()
    page.wait_for_url(f"{live.url}/console/cybertipline/1")
    page.wait_for_load_state("load")

    # what will be sent: facts and hashes, never the picture
    sha = hashlib.sha256(live.shift.pictures[CHILD_ITEM]).hexdigest()
    main = page.locator("main")
    assert sha in main.inner_text()
    assert "erin" in main.inner_text()
    assert main.locator("img, video").count() == 0
    assert axe_violations(page) == []

    # the deciding moderator is refused with the service's typed error, on the page
    expect(page.locator("#own-decision")).to_be_visible()
    page.get_by_label("Classification of every file").select_option("A1")
    page.get_by_label("Screen name of the person reported (optional)").fill("erin_99")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Approve report").click()
    assert nav.value is not None
    assert nav.value.status == 403
    page.wait_for_load_state("load")
    alert = page.locator("#approve-error")
    expect(alert).to_contain_text("cannot approve")
    expect(alert).to_contain_text("(forbidden)")
    expect(page.get_by_label("Screen name of the person reported (optional)")).to_have_value(
        "erin_99"
    )
    assert axe_violations(page) == []
    assert report_status(live) == "prepared"
    assert "ncmec_approve" not in actions(live, "sol")
    # nothing from another host, and no request for the picture's bytes
    assert requested
    assert all(u.startswith(live.url + "/") or u.startswith("data:") for u in requested)
    assert not any("/media/" in u for u in requested)
    context.close()

    # a second safety lead approves with the API's fields
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "sam")
    page.goto(f"{live.url}/console/cybertipline/1")
    assert page.locator("#own-decision").count() == 0
    page.get_by_label("Classification of every file").select_option("A1")
    page.get_by_label("Screen name of the person reported (optional)").fill("erin_99")
    page.get_by_role("button", name="Approve report").click()
    page.wait_for_url(f"{live.url}/console/cybertipline/1?msg=approved")
    page.wait_for_load_state("load")
    expect(page.locator(".flash")).to_contain_text("Report approved")
    expect(page.locator("#report-status")).to_have_text("approved")
    assert page.get_by_role("button", name="Approve report").count() == 0
    assert axe_violations(page) == []
    shown = live.shift.app.state.ncmec.show(None, 1)
    assert (shown.approved_by, shown.screen_name) == ("sam", "erin_99")
    assert [f.classification for f in shown.files] == ["A1"]
    assert "ncmec_approve" in actions(live, "sam")

    # the submitter sends it to the local CyberTipline stand-in
    assert tipline.send() == [1]
    finished = tipline.server.finished()
    assert len(finished) == 1
    assert b"erin" in finished[0].report_xml
    assert b"erin_99" in finished[0].report_xml
    assert [data for _name, data in finished[0].files.values()] == [live.shift.pictures[CHILD_ITEM]]
    page.reload()
    page.wait_for_load_state("load")
    expect(page.locator("#report-status")).to_have_text("submitted")
    ncmec_id = live.shift.app.state.ncmec.show(None, 1).ncmec_report_id
    assert ncmec_id is not None
    assert str(ncmec_id) in page.locator("main").inner_text()
    context.close()

    # the submission's NCMEC hold shows on the holds page; its year needs the override
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "lee")
    assert "Holds" in nav_labels(page)
    assert "CyberTipline" not in nav_labels(page)
    page.get_by_role("link", name="Holds").click()
    page.wait_for_url(f"{live.url}/console/holds")
    page.wait_for_load_state("load")
    row = page.locator("tr[data-hold]").first
    expect(row).to_contain_text("ncmec")
    expect(row).to_contain_text(str(ncmec_id))
    assert axe_violations(page) == []
    hold_id = row.get_attribute("data-hold")
    page.get_by_label(f"Reason to release hold {hold_id}").fill("testing the early release")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name=f"Release hold {hold_id}").click()
    assert nav.value is not None
    assert nav.value.status == 409
    page.wait_for_load_state("load")
    expect(page.locator("#hold-error")).to_contain_text("(hold_minimum_period)")
    expect(page.get_by_label(f"Reason to release hold {hold_id}")).to_have_value(
        "testing the early release"
    )
    assert "preservation_release" not in actions(live, "lee")
    context.close()


def test_a_failed_report_shows_its_error_and_is_approved_again(
    browser: Any, tipline: Tipline
) -> None:
    live = tipline.live
    live.shift.app.state.ncmec.approve(
        live.shift.app.state.review.authenticate(live.shift.tokens["sam"]),
        1,
        ApproveIn(classification="A2"),
    )
    tipline.server.faults["upload"] = ["reject"]
    assert tipline.send() == [1]
    assert report_status(live) == "failed"
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "sam")
    page.goto(f"{live.url}/console/cybertipline?status=failed")
    page.wait_for_load_state("load")
    expect(page.locator('tr[data-report="1"]')).to_contain_text("NcmecRejected")
    page.get_by_role("link", name="ct-1").click()
    page.wait_for_url(f"{live.url}/console/cybertipline/1")
    page.wait_for_load_state("load")
    expect(page.locator("#last-error")).to_contain_text("NcmecRejected")
    expect(page.locator("main")).to_contain_text("retracted: 1000")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Approve again").click()
    page.wait_for_url(f"{live.url}/console/cybertipline/1?msg=approved")
    page.wait_for_load_state("load")
    expect(page.locator("#report-status")).to_have_text("approved")
    assert page.locator("#last-error").count() == 0
    assert tipline.send() == [1]
    assert report_status(live) == "submitted"
    assert len(tipline.server.finished()) == 1
    context.close()


@pytest.mark.parametrize(
    ("name", "tipline_page", "holds_page"),
    [
        ("mia", False, False),
        ("cleo", True, False),
        ("lee", False, True),
        ("aldo", False, False),
        ("ada", False, True),
    ],
)
def test_roles_see_only_the_pages_the_api_lets_them_use(
    browser: Any, tipline: Tipline, name: str, tipline_page: bool, holds_page: bool
) -> None:
    live = tipline.live
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, name)
    labels = nav_labels(page)
    assert ("CyberTipline" in labels) is tipline_page
    assert ("Holds" in labels) is holds_page
    for path, allowed in (
        ("/console/cybertipline", tipline_page),
        ("/console/cybertipline/1", tipline_page),
        ("/console/holds", holds_page),
    ):
        r = page.goto(live.url + path)
        assert r is not None
        assert r.status == (200 if allowed else 403), path
        assert r.headers["content-security-policy"].startswith("default-src 'none'")
        if not allowed:
            assert "(forbidden)" in page.locator("main").inner_text()
            assert "erin" not in page.content()
    token = csrf_of(page)
    post = page.request.post(
        f"{live.url}/console/cybertipline/1/approve",
        form={"csrf": token, "classification": "A1"},
        max_redirects=0,
    )
    assert post.status == 403  # only a safety lead approves
    assert report_status(live) == "prepared"
    if tipline_page:  # child_safety reads the report but gets no approval form
        page.goto(f"{live.url}/console/cybertipline/1")
        assert page.locator("form[action$='/approve']").count() == 0
    post = page.request.post(
        f"{live.url}/console/holds",
        form={"csrf": token, "kind": "item", "target": "1", "reason": "a reason long enough"},
        max_redirects=0,
    )
    assert post.status == (201 if holds_page else 403)
    context.close()


def test_state_changes_need_the_csrf_token(browser: Any, tipline: Tipline) -> None:
    live = tipline.live
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "sam")
    for form in ({}, {"csrf": "0" * 64}):
        post = page.request.post(
            f"{live.url}/console/cybertipline/1/approve",
            form={**form, "classification": "A1"},
            max_redirects=0,
        )
        assert post.status == 403
        assert "csrf_failed" in post.text()
    assert report_status(live) == "prepared"
    context.close()
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "lee")
    hold = {"kind": "item", "target": "1", "reason": "litigation hold LH-1 by counsel"}
    post = page.request.post(f"{live.url}/console/holds", form=hold, max_redirects=0)
    assert post.status == 403
    assert "csrf_failed" in post.text()
    post = page.request.post(
        f"{live.url}/console/holds/1/release", form={"reason": "no token here at all"}
    )
    assert post.status == 403
    assert "preservation_hold" not in actions(live, "lee")
    context.close()


def test_a_lead_places_and_releases_a_hold(browser: Any, tipline: Tipline) -> None:
    live = tipline.live
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "lee")
    page.get_by_role("link", name="Holds").click()
    page.wait_for_url(f"{live.url}/console/holds")
    page.wait_for_load_state("load")
    expect(page.locator("main")).to_contain_text("No active hold")
    assert axe_violations(page) == []

    # bad input: a typed 422, what was typed kept (posted directly: the form's own checks
    # would stop a person before sending)
    token = csrf_of(page)
    for bad in (
        {"kind": "item", "target": "1", "reason": "short"},
        {"kind": "item", "target": "x", "reason": "a reason long enough"},
        {"kind": "item", "target": "1", "reason": "a reason long enough", "days": "-3"},
        {"kind": "thing", "target": "1", "reason": "a reason long enough"},
        {"kind": "report", "target": "no-such-report", "reason": "a reason long enough"},
    ):
        post = page.request.post(f"{live.url}/console/holds", form={"csrf": token, **bad})
        assert post.status in (404, 422), bad
        assert 'role="alert"' in post.text()
    assert "preservation_hold" not in actions(live, "lee")

    page.get_by_label("Item number or report id").fill("1")
    page.get_by_label("Reason (10 to 1000 characters)").fill("litigation hold LH-2026-4")
    page.get_by_label("Days (empty: 365)").fill("30")
    page.get_by_label("Outside reference (optional)").fill("LH-2026-4")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Place hold").click()
    assert nav.value is not None
    assert nav.value.status == 201
    page.wait_for_load_state("load")
    expect(page.locator("#placed")).to_contain_text("Placed hold(s) 1")
    row = page.locator('tr[data-hold="1"]')
    expect(row).to_contain_text("manual")
    expect(row).to_contain_text("LH-2026-4")
    assert axe_violations(page) == []
    assert "preservation_hold" in actions(live, "lee")

    page.get_by_label("Reason to release hold 1").fill("LH-2026-4 settled, counsel's note")
    page.get_by_role("button", name="Release hold 1").click()
    page.wait_for_url(f"{live.url}/console/holds?msg=hold_released")
    page.wait_for_load_state("load")
    expect(page.locator(".flash")).to_contain_text("Hold released")
    assert page.locator('tr[data-hold="1"]').count() == 0
    page.get_by_label("Also released and expired holds").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"{live.url}/console/holds?report_id=&all=1")
    page.wait_for_load_state("load")
    expect(page.locator('tr[data-hold="1"]')).to_contain_text("released")
    assert "preservation_release" in actions(live, "lee")
    context.close()


def test_bad_addresses_are_typed_errors(browser: Any, tipline: Tipline) -> None:
    live = tipline.live
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "sam")
    for path, status in (
        ("/console/cybertipline?status=lost", 422),
        ("/console/cybertipline/abc", 422),
        ("/console/cybertipline/99999999999", 422),
        ("/console/cybertipline/42", 404),
    ):
        r = page.goto(live.url + path)
        assert r is not None
        assert r.status == status, path
        assert page.locator("main [role=alert]").count() == 1
    token = csrf_of(page)
    post = page.request.post(
        f"{live.url}/console/cybertipline/1/approve",
        form={"csrf": token, "classification": "Z9"},
    )
    assert post.status == 422
    assert "invalid_input" in post.text()
    post = page.request.post(
        f"{live.url}/console/cybertipline/1/approve",
        form={"csrf": token, "file_" + "0" * 64: "A1"},
    )
    assert post.status == 422
    assert "does not hold" in post.text()
    assert report_status(live) == "prepared"
    context.close()
