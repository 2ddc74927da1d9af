"""Screenshots of the moderator console for docs/review.md, from the real pages.

Runs the service on a temporary SQLite database seeded with the browser tests' shift
(``tests/report_service/console/shift_data.py``: franked messages, sealed reports, a
banked picture, a child-safety report), drives Debian's chromium through Playwright and
writes ``docs/screenshots/console-*.png`` (sign-in, queues, item, revealed, audit, the
CyberTipline report page and the holds page).

    make screenshots          # or: .venv/bin/python tools/console_screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
WIDTH, HEIGHT = 1180, 820


def main(out_dir: Path) -> int:
    """Write the screenshots; return the exit status."""
    from playwright.sync_api import sync_playwright

    from report_service.server import BackgroundServer
    from tests.report_service.console.shift_data import build_app, seed

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="frankly-shots-") as tmp:
        shift = build_app(Path(tmp) / "data")
        try:
            with BackgroundServer(shift.app) as url, sync_playwright() as p:
                seed(shift, url)
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
                page = context.new_page()

                def shot(name: str, *, full: bool = False) -> None:
                    path = out_dir / f"console-{name}.png"
                    page.screenshot(path=str(path), full_page=full)
                    written.append(path)

                def sign_in(name: str) -> None:
                    page.goto(f"{url}/console/signin")
                    page.get_by_label("Moderator token").fill(shift.tokens[name])
                    page.get_by_role("button", name="Sign in").click()

                page.goto(f"{url}/console/signin")
                shot("signin")
                sign_in("cleo")
                shot("queues")
                page.get_by_role("button", name="Claim from General").click()
                shot("item", full=True)
                page.get_by_label("Reason to reveal this image").fill(
                    "the blurred preview is ambiguous; confirm it is the bank's picture"
                )
                page.get_by_role("button", name="Reveal original").click()
                page.locator("img.original").scroll_into_view_if_needed()
                shot("revealed")
                page.get_by_label("Decision").select_option("suspend_sender")
                page.get_by_label("Policy").fill("harassment/1.2")
                page.get_by_label("Bank this item's image hashes").check()
                page.get_by_role("button", name="Record decision").click()
                sign_in("aldo")
                page.get_by_role("button", name="Verify the chain").click()
                shot("audit")
                # a CyberTipline report prepared by one safety lead's decision, as the
                # second safety lead who must approve it sees it
                review = shift.app.state.review
                for lead in ("sol", "sam"):
                    shift.tokens[lead] = review.add_moderator("setup", lead, "safety_lead").token
                sol = review.authenticate(shift.tokens["sol"])
                review.claim(sol, "child_safety")
                review.decide(sol, 3, "suspend_sender", "csam/1.0", "confirmed")
                sign_in("sam")
                page.get_by_role("link", name="CyberTipline").click()
                page.get_by_role("link", name="ct-1").click()
                page.wait_for_load_state("load")
                shot("cybertipline", full=True)
                # a lead places a litigation hold
                sign_in("lee")
                page.get_by_role("link", name="Holds").click()
                page.get_by_label("Item number or report id").fill("2")
                page.get_by_label("Reason (10 to 1000 characters)").fill(
                    "litigation hold LH-2026-4, counsel's request"
                )
                page.get_by_label("Outside reference (optional)").fill("LH-2026-4")
                page.get_by_role("button", name="Place hold").click()
                page.wait_for_load_state("load")
                shot("holds", full=True)
                browser.close()
        finally:
            shift.app.state.engine.dispose()
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"))
