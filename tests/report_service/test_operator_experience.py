"""What a new operator trips over (issue 12): clear refusals instead of tracebacks, safe
key and demo commands, settings that refuse typos, database errors that say what failed,
private files, offline API docs."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import TypeAdapter, ValidationError

from frankly.cli import main
from report_service.errors import ConfigError, StorageError
from report_service.keys import load_key_file
from report_service.settings import Settings, load_settings
from tests.report_service.conftest import Service

ROOT = Path(__file__).resolve().parents[2]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FRANKLY_") and not name.startswith(("FRANKLY_TEST_", "FRANKLY_REQ")):
            monkeypatch.delenv(name)


def frankly(*argv: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRANKLY_")}
    env.update(kw.pop("env", {}))
    return subprocess.run(
        [sys.executable, "-m", "frankly", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
        **kw,
    )


# -- settings ---------------------------------------------------------------------------


def test_a_misspelled_key_in_settings_toml_is_refused_by_name(
    tmp_path: Path, clean_env: None
) -> None:
    (tmp_path / "settings.toml").write_text('databse_url = "postgresql://x@db/frankly"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "databse_url" in str(err.value)
    assert "database_url" in str(err.value)  # the known keys are listed


def test_a_misspelled_frankly_variable_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("FRANKLY_DATABSE_URL", "postgresql://x@db/frankly")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "FRANKLY_DATABSE_URL" in str(err.value)
    assert "FRANKLY_DATABASE_URL" in str(err.value)


def test_the_test_harness_variables_are_not_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("FRANKLY_TEST_POSTGRES_URL", "postgresql://x@db/t")
    monkeypatch.setenv("FRANKLY_REQUIRE_POSTGRES", "1")
    assert load_settings(tmp_path).database_url is None


def test_malformed_settings_toml_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.toml").write_text("max_body_bytes = [\n")
    done = frankly("keys", "list", "--data", str(data))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: the settings file")
    assert "not valid TOML" in done.stderr


def test_an_out_of_range_setting_names_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("FRANKLY_MAX_BODY_BYTES", "-1")
    with pytest.raises(ConfigError, match="max_body_bytes: Input should be greater than 0"):
        load_settings(tmp_path)


def test_a_list_setting_that_is_not_json_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("FRANKLY_CHILD_SAFETY_CATEGORIES", "csam")
    with pytest.raises(ConfigError, match="child_safety_categories"):
        load_settings(tmp_path)


def test_a_weak_metrics_token_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("FRANKLY_METRICS_TOKEN", "a")
    with pytest.raises(ConfigError, match="too short"):
        load_settings(tmp_path)
    monkeypatch.setenv("FRANKLY_METRICS_TOKEN", "a-real-secret-value-123")
    assert load_settings(tmp_path).metrics_token is not None


def test_operations_doc_lists_every_settings_key() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    documented = {n.lower() for cell in first_cells for n in re.findall(r"`FRANKLY_(\w+)`", cell)}
    assert documented == set(Settings.model_fields)


# -- keys init --force ------------------------------------------------------------------


def test_keys_init_force_needs_a_confirmation_and_keeps_a_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env: None
) -> None:
    data = tmp_path / "data"
    assert main(["keys", "init", "--data", str(data)]) == 0
    key_file = data / "keys.json"
    original = key_file.read_bytes()
    capsys.readouterr()
    # no terminal (pytest's stdin) and no flag: refused, nothing changed
    assert main(["keys", "init", "--force", "--data", str(data)]) == 1
    assert "--yes-replace-keys" in capsys.readouterr().err
    assert key_file.read_bytes() == original
    assert sorted(p.name for p in data.iterdir()) == ["keys.json"]

    assert main(["keys", "init", "--force", "--yes-replace-keys", "--data", str(data)]) == 0
    err = capsys.readouterr().err
    [backup] = [p for p in data.iterdir() if p.name.startswith("keys.json.backup-")]
    assert backup.read_bytes() == original
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert str(backup) in err
    assert key_file.read_bytes() != original
    # the documented recovery works: the backup is a loadable key file
    assert load_key_file(backup).franking.active_kid != load_key_file(key_file).franking.active_kid


def test_keys_init_force_on_a_terminal_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    data = tmp_path / "data"
    assert main(["keys", "init", "--data", str(data)]) == 0
    original = (data / "keys.json").read_bytes()
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    assert main(["keys", "init", "--force", "--data", str(data)]) == 1
    assert (data / "keys.json").read_bytes() == original
    monkeypatch.setattr("builtins.input", lambda prompt: "replace")
    assert main(["keys", "init", "--force", "--data", str(data)]) == 0
    assert (data / "keys.json").read_bytes() != original


def test_keys_list_prints_iso_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env: None
) -> None:
    data = tmp_path / "data"
    assert main(["keys", "init", "--data", str(data)]) == 0
    capsys.readouterr()
    assert main(["keys", "list", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert len(ISO_UTC.findall(out)) >= 4
    assert not re.search(r"\b1\d{12}\b", out)  # no raw milliseconds


# -- wrong folder -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["users", "add", "alice"], ["moderators", "add", "mia", "--role", "moderator"]],
    ids=["users", "moderators"],
)
def test_adding_accounts_to_a_folder_without_keys_is_refused(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env: None
) -> None:
    wrong = tmp_path / "typo"
    assert main([*argv, "--data", str(wrong)]) == 2
    err = capsys.readouterr().err
    assert "no key file" in err
    assert "keys init" in err
    assert not wrong.exists()  # no empty database was created


# -- serve ------------------------------------------------------------------------------


def test_serve_refuses_a_port_out_of_range() -> None:
    done = frankly("serve", "--port", "99999")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "99999 is not a port number" in done.stderr


def test_serve_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert frankly("keys", "init", "--data", str(data)).returncode == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = frankly("serve", "--data", str(data), "--port", str(port))
    assert done.returncode == 3
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_logs_its_data_folder_and_database_without_the_password(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert frankly("keys", "init", "--data", str(data)).returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRANKLY_")}
    with subprocess.Popen(
        [sys.executable, "-m", "frankly", "serve", "--data", str(data), "--port", str(port)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as proc:
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    import json

    entry = json.loads(line)
    assert entry["msg"] == "starting"
    assert entry["data_dir"] == str(data.resolve())
    assert entry["database"] == f"sqlite:///{(data / 'frankly.sqlite').resolve()}"


# -- database errors --------------------------------------------------------------------


def test_database_errors_say_which_database_and_what_failed(tmp_path: Path) -> None:
    from report_service.storage.migrate import upgrade_database

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    url = f"postgresql+psycopg://frankly:s3cret-pw@127.0.0.1:{closed_port}/frankly"
    with pytest.raises(StorageError) as err:
        upgrade_database(url)
    message = str(err.value)
    assert "s3cret-pw" not in message
    assert f"127.0.0.1, port {closed_port}" in message
    assert "'frankly'" in message
    assert "connection refused" in message

    with pytest.raises(StorageError, match="cannot be opened"):
        upgrade_database(f"sqlite:///{tmp_path / 'no-such-folder' / 'x.sqlite'}")


@pytest.mark.postgres
def test_a_missing_postgres_database_is_named(postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    from report_service.storage.migrate import upgrade_database

    url = make_url(postgres_url).set(database="frankly_no_such_db")
    with pytest.raises(StorageError) as err:
        upgrade_database(url.render_as_string(hide_password=False))
    assert "no such database" in str(err.value)
    assert "frankly_no_such_db" in str(err.value)


# -- demo -------------------------------------------------------------------------------


def test_demo_refuses_a_real_data_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env: None
) -> None:
    data = tmp_path / "data"
    assert main(["keys", "init", "--data", str(data)]) == 0
    assert main(["users", "add", "alice", "--data", str(data)]) == 0
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    capsys.readouterr()
    assert main(["demo", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "holds files of its own" in err
    assert "keys.json" in err
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before


def test_demo_ignores_the_database_the_environment_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from report_service.demo import run

    monkeypatch.setenv("FRANKLY_DATABASE_URL", "postgresql+psycopg://x:y@127.0.0.1:1/prod")
    monkeypatch.setenv("FRANKLY_KEY_FILE", str(tmp_path / "prod-keys.json"))
    data = tmp_path / "demo"
    assert run(data) == 0
    assert (data / "frankly.sqlite").is_file()
    assert not (tmp_path / "prod-keys.json").exists()


# -- files holding secrets --------------------------------------------------------------


def test_every_file_in_the_data_folders_is_private_after_a_realistic_run(
    tmp_path: Path, clean_env: None
) -> None:
    """The demo (service on SQLite, users, a bank, a report) and a client's own stores."""
    from client_scan.client import FranklyClient
    from report_service.demo import run

    data = tmp_path / "service"
    assert run(data) == 0
    with FranklyClient(
        user_id="bob", base_url="http://127.0.0.1:9", token="t", data_dir=tmp_path / "client"
    ) as client:
        client.outbox.entries()
    files = [p for p in [*data.rglob("*"), *(tmp_path / "client").rglob("*")] if p.is_file()]
    names = {p.name for p in files}
    assert {"frankly.sqlite", "keys.json", "records.sqlite", "outbox.sqlite"} <= names
    modes = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert {p: m for p, m in modes.items() if m != "0o600"} == {}


def test_an_old_0644_database_is_tightened(tmp_path: Path) -> None:
    from client_scan.records import SqliteRecordStore
    from report_service.storage.engine import make_engine

    old = tmp_path / "frankly.sqlite"
    old.touch(mode=0o644)
    old.chmod(0o644)
    make_engine(f"sqlite:///{old}").dispose()
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    records = tmp_path / "records.sqlite"
    records.touch()
    records.chmod(0o644)
    SqliteRecordStore(records).close()
    assert stat.S_IMODE(records.stat().st_mode) == 0o600


# -- HTTP -------------------------------------------------------------------------------


def test_docs_load_nothing_from_another_host(sqlite_service: Service) -> None:
    client = sqlite_service.client
    for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        answer = client.get(page)
        assert answer.status_code == 200, page
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", answer.text), page
    html = client.get("/docs").text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert len(assets) >= 3
    for asset in assets:
        got = client.get(asset)
        assert got.status_code == 200, asset
        assert len(got.content) > 100
    assert "openapi" in client.get("/openapi.json").text


def test_validation_errors_name_the_field_and_the_allowed_values(
    sqlite_service: Service,
) -> None:
    from report_service.http_errors import describe_validation_errors

    answer = sqlite_service.client.post(
        "/v1/relay/messages",
        json={"recipient_id": "bob"},
        headers=sqlite_service.auth("alice"),
    )
    assert answer.status_code == 422
    message = answer.json()["error"]["message"]
    assert "body.conversation_id: required" in message
    assert "body.ciphertext: required" in message

    broken = sqlite_service.client.post(
        "/v1/relay/messages",
        content=b'{"recipient_id": ',
        headers={**sqlite_service.auth("alice"), "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert "not valid JSON" in broken.json()["error"]["message"]

    with pytest.raises(ValidationError) as err:
        TypeAdapter(Literal["remove", "keep"]).validate_python("nuke")
    text = describe_validation_errors(err.value.errors())
    assert "'remove' or 'keep'" in text
    assert "nuke" not in text  # the input is never echoed


def test_time_helpers_print_utc() -> None:
    from client_scan.cli import iso_utc as client_iso
    from report_service._cli_service import iso_utc

    assert iso_utc(1_767_225_600_000) == "2026-01-01T00:00:00Z"
    assert client_iso(1_767_225_600_123) == "2026-01-01T00:00:00.123Z"


@pytest.mark.parametrize(
    "argv",
    [
        ["users", "list"],
        ["moderators", "list"],
        ["moderators", "revoke", "mia"],
        ["audit", "verify"],
        ["audit", "show"],
        ["evidence", "destroy", "0b9d7c52-3c1e-4f0a-9a55-0c6f1f6f2b10", "--reason", "a request 1"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_reading_a_folder_without_a_database_does_not_create_one(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env: None
) -> None:
    wrong = tmp_path / "typo"
    assert main([*argv, "--data", str(wrong)]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not wrong.exists()


def test_moderators_list_prints_iso_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clean_env: None
) -> None:
    data = ["--data", str(tmp_path / "data")]
    assert main(["keys", "init", *data]) == 0
    assert main(["moderators", "add", "mia", "--role", "moderator", *data]) == 0
    assert main(["moderators", "revoke", "mia", *data]) == 0
    capsys.readouterr()
    assert main(["moderators", "list", *data]) == 0
    out = capsys.readouterr().out
    assert re.search(r"mia\tmoderator\trevoked at " + ISO_UTC.pattern, out)
