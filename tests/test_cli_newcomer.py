"""Every command's error path as a newcomer meets it (issue 12): a version flag, tokens
that start with ``-``, tokens from a file or stdin, a closed pipe, empty inputs and
wrong files named clearly, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from frankly import __version__
from frankly.cli import main

DASH_TOKEN = "-mYEx0Ab_c9QlR3tZp5wKqHn8uVdF2sJe7LyG4iOo1M"  # base64url, 43 characters


def frankly(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRANKLY_")}
    return subprocess.run(
        [sys.executable, "-m", "frankly", *argv],
        capture_output=True,
        text=True,
        env=env,
        input=stdin if stdin is not None else "",
        timeout=120,
    )


def test_version_flag_exits_0() -> None:
    done = frankly("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"frankly {__version__}"


# -- tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token_args",
    [["--token", DASH_TOKEN], [f"--token={DASH_TOKEN}"]],
    ids=["space", "equals"],
)
def test_client_init_takes_a_token_starting_with_a_dash(
    token_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    argv = ["client", "--home", str(home), "init", "--url", "http://127.0.0.1:8000"]
    assert main([*argv, "--user", "bob", *token_args]) == 0
    assert json.loads((home / "client.json").read_text())["token"] == DASH_TOKEN


def test_client_init_reads_the_token_from_a_file_or_stdin(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(DASH_TOKEN + "\n")
    base = ["client", "--home", str(tmp_path / "a"), "init", "--url", "http://h", "--user", "a"]
    assert frankly(*base, "--token-file", str(token_file)).returncode == 0
    assert json.loads((tmp_path / "a" / "client.json").read_text())["token"] == DASH_TOKEN

    base = ["client", "--home", str(tmp_path / "b"), "init", "--url", "http://h", "--user", "b"]
    done = frankly(*base, "--token-file", "-", stdin=DASH_TOKEN + "\n")
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "b" / "client.json").read_text())["token"] == DASH_TOKEN
    assert DASH_TOKEN not in done.stdout + done.stderr

    empty = frankly(*base, "--token-file", "-", stdin="")
    assert empty.returncode == 1
    assert "no token in standard input" in empty.stderr


def test_only_token_options_are_joined() -> None:
    from frankly.cli import join_dash_values

    assert join_dash_values(["--token", "-x", "--comment", "-y"]) == [
        "--token=-x",
        "--comment",
        "-y",
    ]


# -- a closed pipe ----------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("head") is None or shutil.which("bash") is None, reason="sh")
def test_outbox_flush_into_head_stops_quietly(tmp_path: Path) -> None:
    from client_scan.outbox import Outbox

    home = tmp_path / "home"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert (
        frankly(
            "client",
            "--home",
            str(home),
            "init",
            "--url",
            f"http://127.0.0.1:{closed}",
            "--user",
            "bob",
            "--token",
            "t" * 43,
        ).returncode
        == 0
    )
    (home / "bob").mkdir()
    later = time.time() + 10**6  # not due: --flush sends nothing, then lists them all
    with Outbox(home / "bob" / "outbox.sqlite") as outbox:
        outbox.enqueue(str(uuid.uuid4()), b"sealed", later)
    with sqlite3.connect(home / "bob" / "outbox.sqlite") as db:
        db.executemany(
            "INSERT INTO outbox (report_id, sealed, status, attempts, created_at, "
            "next_attempt_at) VALUES (?, x'00', 'pending', 0, ?, ?)",
            [(str(uuid.uuid4()), later, later) for _ in range(5000)],
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRANKLY_")}
    cmd = f"'{sys.executable}' -m frankly client --home '{home}' outbox --flush | head -1"
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {cmd}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.stdout.startswith("sent 0, refused 0, deferred 0")
    assert done.stderr == ""
    assert done.returncode in (0, 141)


# -- lists and hashes -------------------------------------------------------------------


def _hex_list(path: Path, count: int) -> None:
    rng = np.random.default_rng(7)
    path.write_text("".join(rng.bytes(32).hex() + "\n" for _ in range(count)))


def test_list_sign_with_a_list_as_the_key_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hexes = tmp_path / "h.txt"
    _hex_list(hexes, 3)
    v1 = str(tmp_path / "v1.list")
    build = ["list", "build", v1, "--list-id", "x", "--category", "c", "--hex", str(hexes)]
    assert main(build) == 0
    capsys.readouterr()
    assert main(["list", "sign", v1, "--key", v1]) == 1
    err = capsys.readouterr().err
    assert "is not a frankly list signing key file" in err
    assert "codec" not in err


def test_list_build_over_an_empty_folder_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "v1.list"
    argv = ["list", "build", str(out), "--list-id", "x", "--category", "c"]
    assert main([*argv, "--images", str(empty)]) == 1
    assert "no images found" in capsys.readouterr().err
    assert not out.exists()
    blank = tmp_path / "blank.txt"
    blank.write_text("# nothing yet\n")
    assert main([*argv, "--hex", str(blank)]) == 1
    assert "no entries" in capsys.readouterr().err
    assert not out.exists()


def test_hash_over_an_empty_folder_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hash", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"no files found in {tmp_path}" in captured.err


def test_list_build_previous_does_not_carry_entries_and_the_documented_recipe_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hashes.lists import parse_list

    first, more = tmp_path / "first.txt", tmp_path / "more.txt"
    _hex_list(first, 5)
    more.write_text(first.read_text().splitlines()[0][::-1] + "\n")  # one new hash
    v1 = tmp_path / "v1.list"
    common = ["--category", "c"]
    assert main(["list", "build", str(v1), "--list-id", "x", *common, "--hex", str(first)]) == 0
    v2 = tmp_path / "v2.list"
    assert main(["list", "build", str(v2), "--previous", str(v1), *common, "--hex", str(more)]) == 0
    assert "none of the 5 entries of v1 were carried forward" in capsys.readouterr().out
    old, new = parse_list(v1.read_bytes())[0], parse_list(v2.read_bytes())[0]
    assert len(new) == 1
    assert new.header.previous_digest == old.digest
    # docs/lists.md: export v1 to CSV and pass it along to keep its entries
    csv = tmp_path / "v1.csv"
    assert main(["list", "export", str(v1), "--format", "csv", "--out", str(csv)]) == 0
    v2b = tmp_path / "v2b.list"
    argv = ["list", "build", str(v2b), "--previous", str(v1), "--csv", str(csv)]
    assert main([*argv, *common, "--hex", str(more)]) == 0
    kept = parse_list(v2b.read_bytes())[0]
    assert len(kept) == 6
    assert {h.tobytes() for h in old.hashes} <= {h.tobytes() for h in kept.hashes}


def test_audit_show_limits_are_usage_errors_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for bad in ("0", "-1", "1001", "ten"):
        with pytest.raises(SystemExit) as exc:
            main(["audit", "show", "--limit", bad, "--data", str(tmp_path)])
        assert exc.value.code == 2
        assert "--limit" in capsys.readouterr().err


def test_client_commands_name_an_unreachable_service_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    home = ["client", "--home", str(tmp_path)]
    url = f"http://127.0.0.1:{closed}"
    assert main([*home, "init", "--url", url, "--user", "a", "--token", "t" * 43]) == 0
    capsys.readouterr()
    assert main([*home, "status", str(uuid.uuid4())]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: service unreachable")
    assert "SubmissionDeferred" not in err


def test_every_option_has_help_and_data_is_described_alike() -> None:
    import argparse

    from frankly.cli import build_parser

    def walk(parser: argparse.ArgumentParser, path: str) -> list[str]:
        missing = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    missing += walk(sub, f"{path} {name}")
            elif action.help is None and not isinstance(action, argparse._HelpAction):
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
            elif "--data" in action.option_strings:
                assert action.metavar == "DIR", path
                assert "FRANKLY_DATA_DIR" in str(action.help) or path == "frankly demo", path
        return missing

    assert walk(build_parser(), "frankly") == []
