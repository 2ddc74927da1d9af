"""The README's command examples, run as written (house style: README examples run in CI).

Each ``sh`` block after the quick start runs in bash in a fresh folder, with the
project's ``frankly`` first on PATH; ``frankly serve`` (which would not return) is left
out, the server itself is tested over HTTP elsewhere.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
VECTORS = ROOT / "tests" / "data" / "pdq" / "bridge-mods"


def _sh_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def _run(block: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    lines = [line for line in block.splitlines() if not line.startswith("frankly serve")]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("FRANKLY_DATA_DIR", None)
    script = "set -euo pipefail\n" + "\n".join(lines)
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_readme_has_the_blocks_this_file_runs() -> None:
    blocks = _sh_blocks()
    assert "make test" in blocks[0]
    assert any("frankly keys init" in b for b in blocks)
    assert any("frankly list match" in b for b in blocks)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_readme_service_setup_runs(tmp_path: Path) -> None:
    (block,) = [b for b in _sh_blocks() if "frankly keys init" in b]
    result = _run(block, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "frankly-data" / "keys.json").stat().st_mode & 0o777 == 0o600
    listed = _run("frankly users list\nfrankly moderators list", tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "alice" in listed.stdout
    assert "mia" in listed.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_readme_hash_list_match_runs(tmp_path: Path) -> None:
    (block,) = [b for b in _sh_blocks() if "frankly list match" in b]
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("aaa-orig.jpg", "blur-a-lot.jpg", "shrink-a-lot.jpg"):
        shutil.copy(VECTORS / name, photos / name)
    # A copy re-encoded smaller: a near duplicate, not the same bytes.
    from PIL import Image

    with Image.open(VECTORS / "aaa-orig.jpg") as im:
        im.convert("RGB").resize((im.width // 2, im.height // 2)).save(
            tmp_path / "suspect.jpg", quality=70
        )
    result = _run(block, tmp_path)
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "hashes.jsonl").read_text().splitlines()) == 3
    assert "suspect.jpg: MATCH example v1 category csam" in result.stdout
