"""frankly client scan --log: lists accepted only with proofs from the published log, the
checkpoint kept in <home>/trust.json (0600), a refusal printed with its code."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from frankly.cli import main
from tests.client_scan.transparency.published_log import (
    CURATOR,
    LOG,
    WITNESSES,
    PublishedLog,
    chain,
)


def test_scan_in_transparency_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = PublishedLog(tmp_path / "log")
    v1, v2 = chain(2, expires_in_days=3650)
    log.append_list(v1)
    log.publish(1_767_225_600)
    for i, data in enumerate((v1, v2)):
        (tmp_path / f"v{i + 1}.list").write_bytes(data)
    picture = tmp_path / "file.bin"
    picture.write_bytes(b"not a picture")
    home = tmp_path / "home"
    base = ["client", "--home", str(home), "scan", str(picture), "--log", str(log.root)]
    base += ["--trust", base64.b64encode(bytes(CURATOR.verify_key)).decode()]
    args = [*base, "--log-vkey", LOG.verifier.vkey]
    for w in WITNESSES[:2]:
        args += ["--witness", w.verifier.vkey]
    assert main([*args, "--list", str(tmp_path / "v1.list")]) == 0
    assert "list example v1 verified in the log (1 leaves)" in capsys.readouterr().out
    assert stat.S_IMODE((home / "trust.json").stat().st_mode) == 0o600
    # v2 is signed by the curator but not in the log: refused, and said why
    assert main([*args, "--list", str(tmp_path / "v2.list")]) == 1
    assert "NotInLog (not_in_log)" in capsys.readouterr().err
    assert main([*base, "--list", str(tmp_path / "v1.list")]) == 1
    assert "--log needs --log-vkey" in capsys.readouterr().err
