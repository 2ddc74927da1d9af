"""A video in the console, in Debian's chromium: the item page shows its keyframes blurred
and grayscale (measured on the screenshot's pixels), never the video itself; after a reveal
with a reason the page carries a muted, non-autoplaying ``<video>`` served by the app's own
play route (allowed by the CSP: it loads and plays), and the play route refuses anyone who
has not revealed it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import expect

from client_scan.report_format import Reason
from hashes.video import keyframes
from report_service.server import BackgroundServer
from tests.hashes import video_support as vs
from tests.report_service.console.conftest import Live, axe_violations, sign_in
from tests.report_service.console.shift_data import build_app
from tests.report_service.console.test_console_wellness import channel_spread, detail, rgb

WEBM = "video/webm"


@pytest.fixture
def video_live(tmp_path: Path) -> Iterator[tuple[Live, bytes]]:
    """A service holding one reported WebM (VP9) video, over loopback HTTP."""
    shift = build_app(tmp_path / "data")
    video = vs.encode(vs.scene_frames(), container="webm", codec="libvpx-vp9")
    try:
        with BackgroundServer(shift.app) as url:
            m = shift.frank("alice", "bob", "look", "alice-bob", [(video, WEBM)])
            with httpx.Client(base_url=url, timeout=60) as http:
                shift.submit(
                    http, "bob", [m], Reason.NCII, None, {hashlib.sha256(video).hexdigest(): video}
                )
            yield Live(shift, url), video
    finally:
        shift.app.state.engine.dispose()


def test_keyframes_blurred_then_a_muted_player_only_after_reveal(
    browser: Any, video_live: tuple[Live, bytes]
) -> None:
    live, video = video_live
    context = browser.new_context()
    page = context.new_page()
    bodies: list[tuple[str, bytes]] = []
    page.on("response", lambda r: bodies.append((r.url, r.body())) if r.ok else None)
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Security Policy" in m.text else None)
    sign_in(page, live, "mia")
    page.get_by_role("button", name="Claim next item").click()

    frames = page.locator("img.keyframe")
    expect(frames).to_have_count(4)
    for i, original in enumerate(keyframes(video, count=4)):
        frame = frames.nth(i)
        expect(frame).to_be_visible()
        frame.evaluate("img => img.decode()")
        shot = rgb(frame.screenshot())[4:-4, 4:-4]
        h, w = shot.shape[:2]
        full = original.convert("RGB").resize((w + 8, h + 8))
        reference = np.asarray(full, dtype=np.float64)[4:-4, 4:-4]
        assert channel_spread(reference) > 10  # the photographs are in colour
        assert channel_spread(shot) < 1.5  # grayscale
        # blurred: a small fraction of the same-size original's high-frequency energy
        assert detail(shot) < 0.15 * detail(reference)
    assert page.locator("video").count() == 0
    assert axe_violations(page) == []
    assert not any(body == video for _, body in bodies)  # the video never sent
    play_url = f"{live.url}/console/items/1/media/{hashlib.sha256(video).hexdigest()}/play"
    assert page.request.get(play_url).status == 403  # not before a reveal

    page.get_by_label("Reason to reveal this video").fill("check what the video shows")
    page.get_by_role("button", name="Reveal original").click()
    player = page.locator("video.original")
    expect(player).to_have_count(1)
    state = player.evaluate(
        "v => ({muted: v.muted, autoplay: v.autoplay, preload: v.getAttribute('preload'),"
        " controls: v.controls, src: v.currentSrc || v.src, paused: v.paused})"
    )
    assert state["muted"] is True
    assert state["autoplay"] is False
    assert state["paused"] is True  # nothing plays until the moderator presses play
    assert state["preload"] == "none"
    assert state["controls"] is True
    assert state["src"] == play_url  # the app's own origin
    # It loads and plays (muted) under the console's CSP.
    player.evaluate("v => v.play()")
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v.currentTime > 0.2; }"
    )
    assert player.evaluate("v => v.muted") is True
    assert violations == []
    assert axe_violations(page) == []
    # Another moderator who has not revealed it cannot play it.
    other = browser.new_context()
    lead = other.new_page()
    sign_in(lead, live, "lee")
    assert lead.request.get(play_url).status == 403
    other.close()
    context.close()
