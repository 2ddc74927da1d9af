"""``frankly hash`` on a folder of good and bad files."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from frankly.cli import main
from hashes._cli_hash import hash_paths
from hashes.compute import hash_image
from hashes.values import Algorithm, HashValue
from tests.hashes.imaging_support import PDQ_DIR, encode, photo


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    root = tmp_path / "mixed"
    (root / "nested" / "deeper").mkdir(parents=True)
    shutil.copy(PDQ_DIR / "bridge-mods" / "square-128x128.jpg", root / "a.jpg")
    (root / "nested" / "b.png").write_bytes(encode(photo(40, 30), "PNG"))
    (root / "nested" / "deeper" / "c.gif").write_bytes(encode(photo(20, 20), "GIF"))
    (root / "nested" / "empty.jpg").write_bytes(b"")
    (root / "nested" / "notes.txt").write_text("not an image")
    good = encode(photo(64, 64), "JPEG")
    (root / "truncated.jpg").write_bytes(good[: len(good) // 3])
    return root


GOOD = ["a.jpg", "nested/b.png", "nested/deeper/c.gif"]
BAD = ["nested/empty.jpg", "nested/notes.txt", "truncated.jpg"]  # sorted by path


def test_jsonl_reports_good_files_and_skips_bad_ones(
    mixed_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["hash", str(mixed_folder)])
    captured = capsys.readouterr()
    assert status == 1
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [Path(r["path"]).relative_to(mixed_folder).as_posix() for r in rows] == GOOD
    errors = captured.err.strip().splitlines()
    assert len(errors) == len(BAD)
    for name, line in zip(BAD, errors, strict=True):
        assert line.startswith(f"frankly hash: {mixed_folder / name}: ")
    assert "EmptyInput" in errors[0]
    assert "UnsupportedFormat" in errors[1]
    first = rows[0]
    expected = hash_image((mixed_folder / "a.jpg").read_bytes())
    for algorithm in Algorithm:
        assert HashValue.from_text(first[algorithm.value]) == expected[algorithm]
    assert (first["width"], first["height"], first["format"]) == (128, 128, "JPEG")


def test_all_good_files_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.png").write_bytes(encode(photo(), "PNG"))
    assert main(["hash", str(tmp_path / "x.png"), "--algorithms", "sha256"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert set(row) >= {"path", "sha256"}
    assert "pdq" not in row
    assert row["pdq_quality"] is None


def test_csv_with_chosen_algorithms_and_exact_pdq(
    mixed_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["hash", str(mixed_folder), "--format", "csv", "--algorithms", "pdq, md5", "--no-fast"]
    )
    captured = capsys.readouterr()
    assert status == 1
    rows = list(csv.DictReader(io.StringIO(captured.out)))
    assert [Path(r["path"]).name for r in rows] == ["a.jpg", "b.png", "c.gif"]
    assert list(rows[0]) == [
        "path",
        "format",
        "width",
        "height",
        "frames",
        "pdq_quality",
        "low_quality",
        "pdq",
        "md5",
    ]
    exact = hash_image((mixed_folder / "a.jpg").read_bytes(), [Algorithm.PDQ], fast=False)
    assert rows[0]["pdq"] == exact[Algorithm.PDQ].hex
    assert rows[0]["low_quality"] in ("true", "false")


def test_workers_give_the_same_output_in_the_same_order(mixed_folder: Path) -> None:
    outputs = []
    for workers in (1, 2):
        out, err = io.StringIO(), io.StringIO()
        status = hash_paths(
            [str(mixed_folder)],
            (Algorithm.PDQ, Algorithm.SHA256),
            workers=workers,
            out=out,
            err=err,
        )
        assert status == 1
        outputs.append((out.getvalue(), err.getvalue()))
    assert outputs[0] == outputs[1]


def test_missing_path_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["hash", str(tmp_path / "absent.jpg")])
    assert status == 1
    assert "absent.jpg: FileNotFoundError" in capsys.readouterr().err


def test_progress_bar_can_be_forced_onto_stderr(mixed_folder: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    status = hash_paths([str(mixed_folder)], (Algorithm.MD5,), progress="always", out=out, err=err)
    assert status == 1
    assert len(out.getvalue().splitlines()) == len(GOOD)
    assert err.getvalue().count("frankly hash:") == len(BAD)


def test_bad_options_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash", ".", "--algorithms", "sha1"]) == 2
    assert "unknown hash algorithm" in capsys.readouterr().err
    assert main(["hash", ".", "--algorithms", " , "]) == 2
    assert main(["hash", ".", "--workers", "-1"]) == 2
    with pytest.raises(SystemExit):
        main(["hash", ".", "--format", "xml"])


def test_hostile_files_are_refused_and_a_slow_one_is_killed_at_the_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.hashes.hostile_media import (
        gif_with_logical_screen,
        progressive_jpeg_with_scans,
        slow_jpeg_under_every_limit,
    )

    (tmp_path / "a-screen.gif").write_bytes(gif_with_logical_screen())
    (tmp_path / "b-scans.jpg").write_bytes(progressive_jpeg_with_scans(1000, side=1024))
    # Under every header limit, but 0.09 s of libjpeg on a quiet core (more on a busy one):
    # the timeout is under that, and far above the 40x30 PNG's few milliseconds.
    (tmp_path / "c-slow.jpg").write_bytes(slow_jpeg_under_every_limit())
    (tmp_path / "d-good.png").write_bytes(encode(photo(40, 30), "PNG"))
    status = main(["hash", str(tmp_path), "--timeout", "0.04", "--workers", "2"])
    captured = capsys.readouterr()
    assert status == 1
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [Path(r["path"]).name for r in rows] == ["d-good.png"]
    errors = captured.err.strip().splitlines()
    assert len(errors) == 3
    assert "a-screen.gif: DecodeMemoryExceeded" in errors[0]
    assert "b-scans.jpg: TooManyScans" in errors[1]
    assert "c-slow.jpg: DecodeTimeout" in errors[2]
    assert main(["hash", str(tmp_path), "--timeout", "0"]) == 2
