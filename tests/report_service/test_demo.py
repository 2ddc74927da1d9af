"""``frankly demo`` end to end: uvicorn on a loopback port, real HTTP, SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from report_service.demo import demo_image, near_copy, run


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(tmp_path / "data") == 0
    out = capsys.readouterr().out
    assert "On-device warning" in out
    assert "bank match" in out
    assert "422 commitment_mismatch (message 0)" in out
    assert out.count("422 stamp_invalid (message 0)") == 2
    assert "accepted!" not in out
    assert "demo complete" in out
    # A second run on the same folder reuses keys, users and the banked picture.
    assert run(tmp_path / "data") == 0
    assert "v1 (" in capsys.readouterr().out


def test_demo_pictures_are_deterministic_and_near() -> None:
    from hashes.compute import hash_image
    from hashes.values import Algorithm

    assert demo_image() == demo_image()
    a = hash_image(demo_image(), (Algorithm.PDQ,)).hashes[Algorithm.PDQ]
    b = hash_image(near_copy(demo_image()), (Algorithm.PDQ,)).hashes[Algorithm.PDQ]
    assert a.distance(b) <= 31
