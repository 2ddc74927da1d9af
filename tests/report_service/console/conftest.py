"""Fixtures of the console's browser tests: Debian's chromium driven by Playwright, and a
seeded report service served by a real uvicorn on a loopback port.

The browser tests never skip in CI: when ``CI`` or ``FRANKLY_REQUIRE_POSTGRES`` is set and
chromium or Playwright is missing, they fail (``.ci/run`` installs chromium first).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from report_service.server import BackgroundServer
from tests.report_service.console.shift_data import Shift, build_app, seed

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def _required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("FRANKLY_REQUIRE_POSTGRES"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless chromium per test module (a context per test keeps tests apart).

    Not per session: Playwright's sync API keeps an asyncio loop running on the main
    thread while it is open, and later tests elsewhere that call ``asyncio.run`` (the
    in-process ASGI clients) would then fail."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium chromium-driver)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        missing = "playwright is not installed (pip install -e '.[dev]')"
    if missing is not None:
        if _required():
            pytest.fail(f"the console's browser tests must run in CI: {missing}")
        pytest.skip(missing)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


@dataclass
class Live:
    """A seeded service and its URL."""

    shift: Shift
    url: str


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """The seeded service (three items, moderators of every role) over loopback HTTP."""
    shift = build_app(tmp_path / "data")
    try:
        with BackgroundServer(shift.app) as url:
            seed(shift, url)
            yield Live(shift, url)
    finally:
        shift.app.state.engine.dispose()


# Playwright's own default: a bound for a loaded machine (only a failing test waits it).
PAGE_TIMEOUT_MS = 30_000


def sign_in(page: Any, live: Live, name: str) -> None:
    """Sign in through the form, as a person would."""
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(f"{live.url}/console/signin")
    page.get_by_label("Moderator token").fill(live.shift.tokens[name])
    page.get_by_role("button", name="Sign in").click()
    # Wait for the redirect to the signed-in page to land and load (a load state alone
    # can be the sign-in page's own, when the navigation is slow to start under load).
    page.wait_for_url(lambda url: "/console/signin" not in url, wait_until="load")


def csrf_of(page: Any) -> str:
    """The page's CSRF token."""
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert token
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    return str(token)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the current page."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [v for v in result if v.get("impact") in ("serious", "critical")]
