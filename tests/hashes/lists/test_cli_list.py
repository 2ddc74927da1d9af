"""``frankly list``: keygen, build, sign, verify, info, diff, export, match."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from frankly.cli import main

A = "f" * 64
B = "0" * 64
C = "0123456789abcdef" * 4


def _keygen(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    key = tmp_path / name
    assert main(["list", "keygen", str(key)]) == 0
    public = capsys.readouterr().out.strip()
    return key, public


def test_keygen_writes_a_private_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, public = _keygen(tmp_path, "k", capsys)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(public) == 44
    secret = key.read_text().split()[1]
    assert secret not in public
    assert main(["list", "keygen", str(key)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["list", "keygen", str(key), "--force"]) == 0
    assert capsys.readouterr().out.strip() != public


def test_build_sign_verify_info_diff_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    k1, p1 = _keygen(tmp_path, "k1", capsys)
    k2, p2 = _keygen(tmp_path, "k2", capsys)
    (tmp_path / "h.txt").write_text(f"{A}\n{B}\n")
    (tmp_path / "c.csv").write_text(f"hash,category,id\n{C},terror,t-1\n")
    v1 = tmp_path / "v1.list"
    assert (
        main(
            [
                "list",
                "build",
                str(v1),
                "--list-id",
                "demo",
                "--category",
                "csam",
                "--hex",
                str(tmp_path / "h.txt"),
                "--csv",
                str(tmp_path / "c.csv"),
                "--issued-at-ms",
                "1700000000000",
            ]
        )
        == 0
    )
    assert "3 pdq entries" in capsys.readouterr().out

    trust = ["--trust", p1, "--trust", p2]
    assert main(["list", "verify", str(v1), *trust]) == 1
    assert "SignatureMissing" in capsys.readouterr().err

    assert main(["list", "sign", str(v1), "--key", str(k1)]) == 0
    assert main(["list", "verify", str(v1), *trust]) == 0
    assert "OK demo v1: 3 pdq entries" in capsys.readouterr().out
    assert main(["list", "verify", str(v1), *trust, "--threshold", "2"]) == 1
    assert "NotEnoughSignatures" in capsys.readouterr().err
    assert main(["list", "sign", str(v1), "--key", str(k2)]) == 0
    assert main(["list", "verify", str(v1), *trust, "--threshold", "2"]) == 0
    assert main(["list", "verify", str(v1), "--trust", p2]) == 0
    capsys.readouterr()

    assert main(["list", "info", str(v1)]) == 0
    info = capsys.readouterr().out
    assert "list_id:         demo" in info
    assert "csam: 2" in info
    assert "terror: 1" in info
    assert "signatures (2, NOT verified" in info

    (tmp_path / "h2.txt").write_text(f"{A}\n{C}\n")
    v2 = tmp_path / "v2.list"
    assert (
        main(
            [
                "list",
                "build",
                str(v2),
                "--previous",
                str(v1),
                "--category",
                "csam",
                "--hex",
                str(tmp_path / "h2.txt"),
            ]
        )
        == 0
    )
    assert "built demo v2" in capsys.readouterr().out
    assert main(["list", "sign", str(v2), "--key", str(k1)]) == 0
    assert main(["list", "verify", str(v2), "--trust", p1, "--trusted", str(v1)]) == 0
    assert main(["list", "verify", str(v1), "--trust", p1, "--trusted", str(v2)]) == 1
    assert "ListRollback" in capsys.readouterr().err

    assert main(["list", "diff", str(v1), str(v2)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "demo v1 -> demo v2: 1 added, 2 removed"
    assert sorted(out[1:]) == sorted([f"- {B},csam", f"- {C},terror,t-1", f"+ {C},csam"])

    assert main(["list", "export", str(v1), "--format", "hex"]) == 0
    assert capsys.readouterr().out == f"{A}\n{B}\n{C}\n"
    out_csv = tmp_path / "out.csv"
    assert main(["list", "export", str(v1), "--out", str(out_csv)]) == 0
    assert out_csv.read_text().splitlines() == [
        "hash,category,id",
        f"{A},csam,",
        f"{B},csam,",
        f"{C},terror,t-1",
    ]


def test_tampered_list_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key, public = _keygen(tmp_path, "k", capsys)
    (tmp_path / "h.txt").write_text(f"{A}\n")
    lst = tmp_path / "l.list"
    main(
        [
            "list",
            "build",
            str(lst),
            "--list-id",
            "x",
            "--category",
            "c",
            "--hex",
            str(tmp_path / "h.txt"),
        ]
    )
    main(["list", "sign", str(lst), "--key", str(key)])
    data = bytearray(lst.read_bytes())
    data[60] ^= 0xFF
    lst.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["list", "verify", str(lst), "--trust", public]) == 1
    assert "error:" in capsys.readouterr().err


def test_bad_inputs_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "h.txt").write_text("nothex\n")
    out = tmp_path / "l.list"
    assert (
        main(
            [
                "list",
                "build",
                str(out),
                "--list-id",
                "x",
                "--category",
                "c",
                "--hex",
                str(tmp_path / "h.txt"),
            ]
        )
        == 1
    )
    assert "line 1" in capsys.readouterr().err
    assert main(["list", "build", str(out), "--category", "c"]) == 1
    assert main(["list", "build", str(out), "--list-id", "x"]) == 1
    assert main(["list", "build", str(out), "--list-id", "x", "--algorithm", "nope"]) == 1
    (tmp_path / "bad.key").write_text("junk\n")
    assert main(["list", "sign", str(out), "--key", str(tmp_path / "bad.key")]) == 1
    assert main(["list", "verify", str(out), "--trust", "@@@"]) == 1
    assert main(["list", "verify", str(out), "--trust", "AAAA"]) == 1
    assert main(["list", "info", str(tmp_path / "missing.list")]) == 1


def _photo(seed: int) -> Image.Image:
    """A smooth random picture: blurred noise, so perceptual hashes are stable."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((128, 128), Image.Resampling.BICUBIC)


def test_images_build_sign_verify_match(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The round trip of the issue: build from images -> sign -> verify -> match."""
    key, public = _keygen(tmp_path, "k", capsys)
    known = tmp_path / "known"
    known.mkdir()
    for i in range(3):
        _photo(i).save(known / f"img{i}.png")
    lst = tmp_path / "l.list"
    assert (
        main(
            [
                "list",
                "build",
                str(lst),
                "--list-id",
                "img",
                "--category",
                "csam",
                "--images",
                str(known),
            ]
        )
        == 0
    )
    assert main(["list", "sign", str(lst), "--key", str(key)]) == 0
    assert main(["list", "verify", str(lst), "--trust", public]) == 0
    capsys.readouterr()

    reencoded = tmp_path / "copy.jpg"
    _photo(1).resize((100, 100)).save(reencoded, quality=85)
    other = tmp_path / "other.png"
    _photo(99).save(other)
    assert main(["list", "match", str(reencoded), "--list", str(lst), "--trust", public]) == 0
    out = capsys.readouterr().out
    assert "MATCH img v1 category csam" in out
    assert "entry img1.png" in out
    assert main(["list", "match", str(other), "--list", str(lst), "--trust", public]) == 1
    assert "no match" in capsys.readouterr().out
    assert (
        main(
            ["list", "match", str(other), "--list", str(lst), "--trust", public, "--threshold", "2"]
        )
        == 2
    )


def test_match_finds_a_mirrored_copy_and_names_the_variant(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression (issue 15): ``list match`` hashed the original orientation only."""
    key, public = _keygen(tmp_path, "k", capsys)
    (tmp_path / "known").mkdir()
    _photo(5).resize((320, 320)).save(tmp_path / "known" / "pic.png")
    lst = tmp_path / "l.list"
    args = ["list", "build", str(lst), "--list-id", "img", "--category", "csam"]
    assert main([*args, "--images", str(tmp_path / "known")]) == 0
    assert main(["list", "sign", str(lst), "--key", str(key)]) == 0
    capsys.readouterr()
    mirrored = tmp_path / "mirrored.jpg"
    _photo(5).resize((320, 320)).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored)
    assert main(["list", "match", str(mirrored), "--list", str(lst), "--trust", public]) == 0
    out = capsys.readouterr().out
    assert "MATCH img v1 category csam" in out
    assert "entry pic.png variant flipy" in out
