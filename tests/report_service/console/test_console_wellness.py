"""Wellness, measured in the browser: the item page shows the picture grayscale and
blurred (measured on the screenshot's pixels against the original), and the original's
bytes never reach the browser before a reveal (the network log)."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image, ImageFilter
from playwright.sync_api import expect

from tests.report_service.console.conftest import Live, sign_in


def rgb(png: bytes) -> np.ndarray[Any, np.dtype[np.float64]]:
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64)


def channel_spread(a: np.ndarray[Any, np.dtype[np.float64]]) -> float:
    """Mean over pixels of max minus min channel: 0 for a gray picture."""
    return float((a.max(axis=2) - a.min(axis=2)).mean())


def detail(a: np.ndarray[Any, np.dtype[np.float64]]) -> float:
    """High-frequency energy: mean absolute difference between the luma and its own
    Gaussian blur (radius 2). A picture blurred far more than that keeps only rounding
    noise, well under one grey level; a detailed photo keeps tens."""
    y = Image.fromarray(np.clip(a @ np.array([0.299, 0.587, 0.114]), 0, 255).astype(np.uint8))
    smooth = np.asarray(y.filter(ImageFilter.GaussianBlur(2)), dtype=np.float64)
    return float(np.abs(np.asarray(y, dtype=np.float64) - smooth).mean())


def test_item_page_pixels_are_gray_and_blurred_and_the_original_never_sent(
    browser: Any, live: Live
) -> None:
    context = browser.new_context()
    page = context.new_page()
    bodies: list[tuple[str, bytes]] = []
    page.on("response", lambda r: bodies.append((r.url, r.body())) if r.ok else None)
    sign_in(page, live, "mia")
    page.get_by_role("button", name="Claim next item").click()
    thumb = page.locator("img.thumb")
    thumb.evaluate("img => img.decode()")
    shot = rgb(thumb.screenshot())[8:-8, 8:-8]  # inside the image, off its edges

    original = live.shift.pictures[1]
    w, h = shot.shape[1], shot.shape[0]
    with Image.open(io.BytesIO(original)) as im:
        full = im.convert("RGB").resize((w + 16, h + 16))
        reference = np.asarray(full, dtype=np.float64)[8:-8, 8:-8]
    # grayscale: the channels agree on every pixel (the original's differ a lot)
    assert channel_spread(reference) > 40
    assert channel_spread(shot) < 1.5
    # blurred: almost no high-frequency energy left compared with the same-size original
    assert detail(shot) < 0.05 * detail(reference)

    # the network log: nothing the browser received holds the original or its base64
    b64 = base64.b64encode(original).decode()
    assert bodies
    for url, body in bodies:
        assert original not in body, url
        assert original[:64] not in body, url
        assert b64[:200].encode() not in body, url

    # after a reveal with a reason, and only then, the page carries the original
    bodies.clear()
    page.get_by_label("Reason to reveal this image").fill("need to see whether it is edited")
    page.get_by_role("button", name="Reveal original").click()
    revealed = page.locator("img.original")
    assert revealed.count() == 1
    assert any(b64[:200].encode() in body for _, body in bodies)
    assert "gray" in (revealed.get_attribute("class") or "")  # grayscale by default
    context.close()


def test_wellness_settings_change_the_preview_and_the_break_reminder(
    browser: Any, live: Live
) -> None:
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, live, "cleo")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Extra blur on previews").select_option("4")
    page.get_by_label("Show revealed originals in grayscale").uncheck()
    page.get_by_label("Break reminder after").fill("5")
    page.get_by_role("button", name="Save").click()
    assert "Settings saved." in page.locator(".flash").inner_text()

    page.get_by_role("link", name="Queues").click()
    assert page.locator('tr[data-queue="child_safety"] td').nth(0).inner_text() == "1"
    page.clock.install()
    page.get_by_role("button", name="Claim from Child safety").click()
    # its reminder timer is set by the (deferred) script: wait for the item page to load
    # (a bare load-state wait can still answer for the queues page under load)
    page.wait_for_url("**/console/items/3", wait_until="load")
    assert page.url.endswith("/console/items/3")
    assert "blur-4" in (page.locator("img.thumb").get_attribute("class") or "")
    reminder = page.locator("#break-reminder")
    assert reminder.is_hidden()

    # the open page shows the reminder when the time is up...
    live.shift.clock.advance(5 * 60_000 + 1000)  # five minutes in the child-safety queue
    page.clock.run_for(5 * 60_000 + 1000)
    expect(reminder).to_be_visible()
    # ...and so does any page opened after it
    live.shift.clock.advance(60_000)
    page.reload()
    assert reminder.is_visible()
    assert "5 minutes" in reminder.inner_text()
    page.get_by_role("button", name="I took a break").click()
    assert "Break timer reset" in page.locator(".flash").inner_text()
    page.goto(f"{live.url}/console/items/3")
    assert page.locator("#break-reminder").is_hidden()
    context.close()
