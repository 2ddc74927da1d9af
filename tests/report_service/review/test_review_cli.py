"""``frankly moderators add|list|revoke`` and ``frankly audit show`` on a data folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from frankly.cli import main
from tests.report_service.review.review_support import Env, SyncClient, auth


def test_moderators_on_a_fresh_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FRANKLY_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["keys", "init"]) == 0
    capsys.readouterr()
    assert main(["moderators", "add", "ann", "--role", "child_safety"]) == 0
    token = capsys.readouterr().out.strip()
    assert len(token) == 43
    assert (tmp_path / "frankly-data" / "frankly.sqlite").is_file()
    assert main(["moderators", "add", "ann", "--role", "lead"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["moderators", "list"]) == 0
    assert capsys.readouterr().out == "ann\tchild_safety\tactive\n"
    assert main(["moderators", "revoke", "ann"]) == 0
    assert main(["moderators", "revoke", "ann"]) == 2
    capsys.readouterr()
    assert main(["moderators", "list"]) == 0
    assert "revoked at" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["moderators", "add", "bo", "--role", "root"])
    assert main(["audit", "show", "--action", "moderator_revoke"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["detail"] == {"name": "ann"}
    assert token not in (tmp_path / "frankly-data" / "frankly.sqlite").read_bytes().decode(
        "latin-1"
    )


def test_cli_accounts_work_over_http(
    env: Env,
    client: SyncClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FRANKLY_DATABASE_URL", env.url)
    data = str(tmp_path / "data")
    assert main(["moderators", "add", "cli-mod", "--role", "moderator", "--data", data]) == 0
    token = capsys.readouterr().out.strip()
    assert client.get("/v1/review/me", headers=auth(token)).json()["name"] == "cli-mod"
    assert main(["moderators", "revoke", "cli-mod", "--data", data]) == 0
    assert client.get("/v1/review/me", headers=auth(token)).status_code == 401
