"""The Python examples in docs/hashing.md run as written."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.hashes.imaging_support import PDQ_DIR

DOC = Path(__file__).resolve().parents[2] / "docs" / "hashing.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_doc_has_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_doc_example_runs(
    index: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(
        PDQ_DIR / "reg-test-input" / "dih" / "bridge-1-original.jpg", tmp_path / "photo.jpg"
    )
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[index], f"{DOC.name} example {index + 1}", "exec"), {})  # noqa: S102
    assert capsys.readouterr().out
