"""``make demo`` ends by telling the user how to open the console on the demo's data,
and the commands it prints work: the moderator added to that folder signs in to the
console and finds the demo's review item waiting."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import httpx
import pytest

from frankly.cli import main
from report_service.app import create_app
from report_service.demo import console_hint, run
from report_service.server import BackgroundServer
from report_service.settings import Settings


def test_a_temporary_demo_folder_is_replaced_by_one_that_stays() -> None:
    hint = console_hint(Path(tempfile.gettempdir()) / "frankly-abc123")
    assert "frankly demo --data ./frankly-demo" in hint
    assert "frankly serve --data ./frankly-demo" in hint


def test_the_demo_hint_opens_the_console_on_the_demo_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "demo"
    assert run(data) == 0
    out = capsys.readouterr().out
    assert "Open the moderator console on the demo's data" in out
    assert f"frankly moderators add mia --role moderator --data {data}" in out
    assert "http://127.0.0.1:8000/console/" in out

    assert main(["moderators", "add", "mia", "--role", "moderator", "--data", str(data)]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    app = create_app(Settings(environment="development", data_dir=data))
    try:
        with (
            BackgroundServer(app) as url,
            httpx.Client(base_url=url, follow_redirects=True, timeout=30) as http,
        ):
            form = http.get("/console/signin").text
            csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', form)
            assert csrf is not None
            r = http.post("/console/signin", data={"csrf": csrf[1], "token": token})
            assert r.status_code == 200
            assert str(r.url).endswith("/console/queues")
            row = re.search(r'<tr data-queue="general">.*?<td class="num">(\d+)</td>', r.text, re.S)
            assert row is not None
            assert row[1] == "1"
    finally:
        app.state.engine.dispose()
