"""Fixtures of the escalation tests: the review tests' migrated database with seeded
reports and ``frankly`` run on it (preservation), a webhook receiver on 127.0.0.1 and a
freshly migrated database (webhooks); SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frankly.cli import main
from tests.report_service.escalation.webhook_receiver import Receiver, running_receiver
from tests.report_service.review.review_support import Env, make_env


@pytest.fixture
def env(database_url: str) -> Iterator[Env]:
    e = make_env(database_url)
    try:
        yield e
    finally:
        e.engine.dispose()


class Cli:
    """``frankly`` on the test's database (its URL in the environment, as an operator
    pointing at PostgreSQL would), capturing the output."""

    def __init__(self, env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any):
        monkeypatch.setenv("FRANKLY_DATABASE_URL", env.url)
        self.data = str(tmp_path / "data")
        self.capsys = capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        status = main([*argv, "--data", self.data])
        out = self.capsys.readouterr()
        return status, out.out, out.err


@pytest.fixture
def cli(env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Cli:
    return Cli(env, tmp_path, monkeypatch, capsys)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


