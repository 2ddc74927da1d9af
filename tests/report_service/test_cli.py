"""``frankly keys`` and ``frankly users`` on an empty data folder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from frankly.cli import main
from report_service.keys import load_key_file


def test_keys_init_rotate_list_and_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert main(["keys", "init", "--data", str(data)]) == 0
    key_file = data / "keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = load_key_file(key_file)
    assert main(["keys", "init", "--data", str(data)]) == 1  # refuses to overwrite
    assert main(["keys", "rotate", "--data", str(data)]) == 0
    rotated = load_key_file(key_file)
    assert rotated.franking.active_kid != first.franking.active_kid
    assert first.franking.active_kid in {k.kid for k in rotated.franking.keys}
    assert rotated.sealing_active != first.sealing_active
    assert main(["keys", "rotate", "master", "--data", str(data)]) == 0
    assert len(load_key_file(key_file).master) == 2
    assert main(["keys", "list", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    for secret in load_key_file(key_file).secrets():
        assert secret.hex() not in out
    capsys.readouterr()
    assert main(["users", "add", "alice", "--data", str(data)]) == 0
    token = capsys.readouterr().out.strip()
    assert len(token) == 43
    assert main(["users", "add", "alice", "--data", str(data)]) == 2
    assert main(["users", "add", "no spaces", "--data", str(data)]) == 2
    assert main(["users", "list", "--data", str(data)]) == 0
    assert capsys.readouterr().out.split() == ["alice"]


def test_loose_key_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert main(["keys", "init", "--data", str(data)]) == 0
    (data / "keys.json").chmod(0o644)
    assert main(["keys", "list", "--data", str(data)]) == 2
    assert "chmod 600" in capsys.readouterr().err


def test_default_data_folder_is_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FRANKLY_DATA_DIR", raising=False)
    assert main(["keys", "init"]) == 0
    assert (tmp_path / "frankly-data" / "keys.json").is_file()


def test_cli_registration_does_not_load_the_web_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, report_service._cli_service;"
        "heavy = {'fastapi', 'sqlalchemy', 'uvicorn', 'nacl'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, check=True, text=True
    )
    assert done.stdout.strip() == "[]"
