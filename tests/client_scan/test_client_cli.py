"""``frankly client``: configuration, offline scanning and error reporting."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest

from frankly.cli import main

from .test_scanner import CURATOR, KNOWN, sha_list


def test_init_keeps_the_token_private(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    args = ["client", "--home", str(home), "init", "--url", "http://x", "--user", "bob"]
    assert main([*args, "--token", "s3cret"]) == 0
    config = home / "client.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text())["token"] == "s3cret"
    assert "s3cret" not in capsys.readouterr().out


def test_session_key_is_32_random_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["client", "session-key"]) == 0
    first = base64.b64decode(capsys.readouterr().out.strip(), validate=True)
    main(["client", "session-key"])
    second = base64.b64decode(capsys.readouterr().out.strip(), validate=True)
    assert len(first) == 32
    assert first != second


def test_commands_without_init_fail_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["client", "--home", str(tmp_path / "none"), "outbox"])
    assert status == 1
    assert "frankly client init" in capsys.readouterr().err


def test_bad_session_key_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(tmp_path)
    main(["client", "--home", home, "init", "--url", "http://x", "--user", "a", "--token", "t"])
    status = main(
        ["client", "--home", home, "send", "b", "hi", "--conversation", "c", "--session-key", "x"]
    )
    assert status == 1
    assert "session-key" in capsys.readouterr().err


def test_scan_is_offline_and_reports_matches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_network: list[object]
) -> None:
    list_file = tmp_path / "list.bin"
    list_file.write_bytes(sha_list())
    bad, fine = tmp_path / "bad.bin", tmp_path / "fine.bin"
    bad.write_bytes(KNOWN)
    fine.write_bytes(b"harmless")
    trust = base64.b64encode(bytes(CURATOR.verify_key)).decode()
    args = ["client", "scan", str(bad), str(fine), "--list", str(list_file), "--trust", trust]
    assert main(args) == 3  # something matched
    out = capsys.readouterr().out
    assert f"{bad}: 1 match(es)" in out
    assert "sha-list v1 terror distance 0" in out
    assert f"{fine}: 0 match(es)" in out
    assert no_network == []
    other = base64.b64encode(hashlib.sha256(b"x").digest()).decode()
    assert main([*args[:-1], other]) == 1
    assert "ListNotCuratorSigned" in capsys.readouterr().err  # a ListUpdateRejected


def test_scan_names_the_variant_of_a_mirrored_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import ImageOps

    from hashes.compute import hash_image
    from hashes.lists import build_list, sign_list
    from hashes.values import Algorithm

    from .test_scanner import _real_photo_jpeg

    listed = hash_image(_real_photo_jpeg(), [Algorithm.PDQ])[Algorithm.PDQ]
    hash_list = build_list(
        list_id="pdq-list",
        version=1,
        issued_at_ms=0,
        algorithm=Algorithm.PDQ,
        threshold=31,
        categories=["csam"],
        hashes=[listed],
        entry_categories=[0],
    )
    list_file = tmp_path / "list.bin"
    list_file.write_bytes(sign_list(hash_list, CURATOR))
    mirrored = tmp_path / "mirrored.jpg"
    mirrored.write_bytes(_real_photo_jpeg(ImageOps.mirror))
    trust = base64.b64encode(bytes(CURATOR.verify_key)).decode()
    args = ["client", "scan", str(mirrored), "--list", str(list_file), "--trust", trust]
    assert main(args) == 3
    out = capsys.readouterr().out
    assert "pdq-list v1 csam distance" in out
    assert out.rstrip().endswith("variant flipy")
