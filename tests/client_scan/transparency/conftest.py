"""Fixtures: a small log published to a folder, and the same folder over real HTTP."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client_scan.transparency.published_log import PublishedLog, chain, make_list

NOW_S = 1_767_225_600 + 5 * 86_400


@pytest.fixture
def published(tmp_path: Path) -> tuple[PublishedLog, list[bytes]]:
    log = PublishedLog(tmp_path / "log")
    lists = chain(3)
    for data in lists:
        log.append_list(data)
    log.append_list(make_list(1, list_id="other"))
    log.publish(NOW_S)
    return log, lists


@pytest.fixture
def served(published: tuple[PublishedLog, list[bytes]]) -> Iterator[str]:
    log, _ = published

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(log.root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
