from __future__ import annotations

import subprocess
import sys

import pytest

from frankly import __version__
from frankly.cli import main


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"frankly {__version__}"


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_installed_entry_point_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "frankly", "version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"frankly {__version__}"
