"""A whole shift in a real chromium, click by click, and the audit log it leaves.

Sign in, claim, look, reveal one image with a reason, decide and bank, next item; a lead
reopens; an auditor verifies the chain in the console; the audit entries are exactly the
steps that were clicked.
"""

from __future__ import annotations

from typing import Any

from report_service.review.audit.store import AuditFilter
from tests.report_service.console.conftest import Live, sign_in

REASON = "the blurred preview is ambiguous; confirm it shows the reporter"


def audit(live: Live) -> list[Any]:
    review = live.shift.app.state.review
    return list(
        review.audit_entries(
            AuditFilter(None, None, None, None, None, after_seq=0, limit=1000)
        ).entries
    )


def test_a_whole_shift_click_by_click(browser: Any, live: Live) -> None:
    mia = browser.new_context()
    page = mia.new_page()
    problems: list[str] = []  # script errors, CSP violations, failed loads
    hosts: set[str] = set()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    sign_in(page, live, "mia")
    assert page.url.endswith("/console/queues")
    general = page.locator('tr[data-queue="general"]')
    assert general.locator("td").nth(0).inner_text() == "2"  # waiting
    assert general.locator("td").nth(3).inner_text() != "-"  # top priority

    # claim: the highest-priority item, the one with a bank match
    page.get_by_role("button", name="Claim next item").click()
    assert page.url.endswith("/console/items/1")
    verified = page.locator("section.verified")
    unverified = page.locator("section.unverified")
    assert "alice" in verified.locator("dl.facts").inner_text()
    assert "alice keeps sending me this picture" in unverified.inner_text()
    assert "alice keeps sending me" not in verified.inner_text()
    transcript = page.locator("ol.transcript > li")
    assert transcript.count() == 3
    assert page.locator("ol.transcript > li.reported").count() == 1
    assert "everyone will see this" in page.locator("li.reported").inner_text()
    match = page.locator("table.matches tbody tr")
    assert match.count() == 1
    assert "harassment" in match.inner_text()
    distance = int(match.locator("td").nth(2).inner_text())
    assert 0 <= distance <= 31
    assert "Item #2" in page.locator("#history-h + ul").inner_text()  # same sender
    thumb = page.locator("img.thumb")
    assert thumb.evaluate("img => img.complete && img.naturalWidth") > 0

    # reveal with a stated reason
    page.get_by_label("Reason to reveal this image").fill(REASON)
    page.get_by_role("button", name="Reveal original").click()
    assert page.locator("img.original").count() == 1
    assert page.locator("img.thumb").count() == 0

    # decide and bank
    page.get_by_label("Decision").select_option("suspend_sender")
    policy = page.get_by_label("Policy")
    policy.fill("Harassment 1.2")  # the browser checks the policy pattern before sending
    assert policy.evaluate("e => e.validity.patternMismatch") is True
    policy.fill("harassment/1.2")
    assert policy.evaluate("e => e.validity.valid") is True
    page.get_by_label("Note").fill("targeted harassment with an image")
    page.get_by_label("Bank this item's image hashes").check()
    page.get_by_role("button", name="Record decision").click()
    assert page.url.endswith("/console/queues?msg=decided&item=1")
    assert "Decision recorded." in page.locator(".flash").inner_text()

    # next item
    page.get_by_role("button", name="Claim next item").click()
    assert page.url.endswith("/console/items/2")
    page.get_by_label("Decision").select_option("no_violation")
    page.get_by_label("Policy").fill("spam/1.0")
    page.get_by_role("button", name="Record decision").click()
    assert "Decision recorded." in page.locator(".flash").inner_text()
    page.get_by_role("button", name="Claim next item").click()
    assert "Nothing to claim" in page.locator(".flash").inner_text()
    assert problems == []
    assert hosts == {live.url.split("/")[2]}  # nothing loaded from another host
    mia.close()

    # a lead reopens item 1
    lee = browser.new_context()
    page = lee.new_page()
    sign_in(page, live, "lee")
    page.get_by_label("Item number").fill("1")
    page.get_by_role("button", name="Open", exact=True).click()
    assert page.url.endswith("/console/items/1")
    assert "suspend_sender" in page.locator("ul.decisions").inner_text()
    page.get_by_label("Reason (audited").fill("the picture is satire; needs a second look")
    page.get_by_role("button", name="Reopen decision").click()
    assert "Item reopened." in page.locator(".flash").inner_text()
    assert "reopened by lee" in page.locator("ul.decisions").inner_text()
    lee.close()

    # an auditor verifies the chain in the console
    aldo = browser.new_context()
    page = aldo.new_page()
    sign_in(page, live, "aldo")
    assert page.url.endswith("/console/audit")
    page.get_by_role("button", name="Verify the chain").click()
    assert "The chain verifies." in page.locator("#verify-result").inner_text()
    head = live.shift.app.state.review.audit_verify()
    assert page.locator("#head-hash").inner_text() == head.head_hash
    aldo.close()

    # the audit entries match what was clicked
    entries = [e for e in audit(live) if e.actor != "setup"]
    steps = [
        (e.actor, e.action, e.item_id)
        for e in entries
        if e.action in {"claim", "media_reveal", "decide", "bank_media", "reopen", "release"}
    ]
    assert steps == [
        ("mia", "claim", 1),
        ("mia", "media_reveal", 1),
        ("mia", "decide", 1),
        ("mia", "bank_media", 1),
        ("mia", "claim", 2),
        ("mia", "decide", 2),
        ("lee", "reopen", 1),
    ]
    by_action = {(e.actor, e.action, e.item_id): e.detail for e in entries}
    assert by_action[("mia", "media_reveal", 1)]["reason"] == REASON
    assert by_action[("mia", "decide", 1)]["decision"] == "suspend_sender"
    assert by_action[("mia", "decide", 1)]["policy"] == "harassment/1.2"
    assert by_action[("mia", "decide", 2)]["decision"] == "no_violation"
    assert by_action[("lee", "reopen", 1)]["reason"].startswith("the picture is satire")
    # every page the moderators opened is in the log too, nothing else by them
    actions = {e.action for e in entries}
    assert actions <= {
        "claim",
        "item_view",
        "media_view",
        "media_reveal",
        "decide",
        "bank_media",
        "reopen",
    }
    views = [(e.actor, e.item_id) for e in entries if e.action == "item_view"]
    assert views.count(("mia", 1)) == 2  # opened, then shown again with the reveal
    assert ("lee", 1) in views
    assert ("aldo", None) not in views
