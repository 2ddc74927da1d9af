"""The console's search page over the review API's search service (``GET /console/search``):
filters, roles, child-safety items hidden from other roles, the audit entry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from report_service.review.audit.store import AuditFilter
from report_service.server import BackgroundServer
from tests.report_service.console.shift_data import Shift, build_app, seed

pytest.importorskip("report_service.review.search.items")


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[Shift, str]]:
    shift = build_app(tmp_path / "data", database_url)
    try:
        with BackgroundServer(shift.app) as url:
            seed(shift, url)
            yield shift, url
    finally:
        shift.app.state.engine.dispose()


def signed_in(url: str, token: str) -> httpx.Client:
    http = httpx.Client(base_url=url, follow_redirects=True, timeout=30)
    form = http.get("/console/signin").text
    login = re.search(r'name="csrf" value="([0-9a-f]{64})"', form)
    assert login is not None
    assert http.post("/console/signin", data={"csrf": login[1], "token": token}).is_success
    return http


def found(page: httpx.Response) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-item="(\d+)">', page.text)]


def test_search_by_sender_reporter_status_and_roles(served: tuple[Shift, str]) -> None:
    shift, url = served
    with closing(signed_in(url, shift.tokens["mia"])) as http:
        assert found(http.get("/console/search", params={"sender": "alice"})) == [2, 1]
        assert found(http.get("/console/search", params={"reporter": "dave"})) == [2]
        assert found(http.get("/console/search", params={"status": "open"})) == [2, 1]
        # a child-safety item does not exist for this role, even by its sender
        assert found(http.get("/console/search", params={"sender": "erin"})) == []
        assert "Give at least one filter" in http.get("/console/search").text
        for bad in (
            {"status": "lost"},
            {"decision": "ban"},
            {"report_id": "x"},
            {"sender": "\x00"},
        ):
            assert http.get("/console/search", params=bad).status_code == 422, bad
    with closing(signed_in(url, shift.tokens["cleo"])) as http:
        assert found(http.get("/console/search", params={"sender": "erin"})) == [3]
    with closing(signed_in(url, shift.tokens["aldo"])) as http:
        assert http.get("/console/search", params={"sender": "alice"}).status_code == 403
    log = shift.app.state.review.audit_entries(
        AuditFilter(None, "item_search", None, None, None, after_seq=0, limit=100)
    ).entries
    assert [e.actor for e in log] == ["mia"] * 4 + ["cleo"]
