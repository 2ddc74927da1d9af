"""Augmented list entries: standard edits hashed under one entry id, matched as one entry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from frankly.cli import main
from hashes.augment import STANDARD_EDITS, augmented_hashes, edit_names
from hashes.compute import hash_image
from hashes.errors import DecodeError, HashFormatError
from hashes.lists import parse_list
from hashes.values import Algorithm

from .imaging_support import encode


def _picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, (18, 24, 3), dtype=np.uint8)
    return Image.fromarray(cells).resize((640, 480), Image.Resampling.BICUBIC)


def _crop_left(im: Image.Image, share: float) -> Image.Image:
    return im.crop((round(im.width * share), 0, im.width, im.height))


def test_augmented_hashes_are_the_original_then_each_edit() -> None:
    data = encode(_picture(1), "JPEG", quality=90)
    got = augmented_hashes(data, Algorithm.PDQ)
    assert [n for n, _ in got] == ["original", *edit_names()]
    assert len(got) == 1 + len(STANDARD_EDITS)
    assert got[0][1] == hash_image(data, [Algorithm.PDQ])[Algorithm.PDQ]
    assert len({v for _, v in got}) == len(got)  # every edit changes the hash
    # The crop edit's hash is (near) the hash of the picture cropped the same way.
    cropped = hash_image(encode(_crop_left(_picture(1), 0.05), "PNG"), ["pdq"])[Algorithm.PDQ]
    assert dict(got)["crop_left_5"].distance(cropped) <= 10
    with pytest.raises(HashFormatError):
        augmented_hashes(data, Algorithm.SHA256)
    with pytest.raises(DecodeError):
        augmented_hashes(b"\xff\xd8\xff" + b"\0" * 40, Algorithm.PDQ)


def _build(tmp_path: Path, name: str, *extra: str) -> Path:
    out = tmp_path / name
    args = ["list", "build", str(out), "--list-id", "l", "--category", "csam"]
    assert main([*args, "--images", str(tmp_path / "known"), *extra]) == 0
    return out


def test_build_augment_links_edits_to_the_entry_id_and_matches_a_cropped_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "known").mkdir()
    for i in range(2):
        _picture(i).save(tmp_path / "known" / f"pic{i}.png")
    assert main(["list", "keygen", str(tmp_path / "k")]) == 0
    public = capsys.readouterr().out.strip()
    plain = _build(tmp_path, "plain.list")
    augmented = _build(tmp_path, "aug.list", "--augment")
    hash_list = parse_list(augmented.read_bytes())[0]
    per_image = 1 + len(STANDARD_EDITS)
    assert len(hash_list) == 2 * per_image
    assert [hash_list.entry_id(i) for i in range(len(hash_list))] == ["pic0.png"] * per_image + [
        "pic1.png"
    ] * per_image
    for lst in (plain, augmented):
        assert main(["list", "sign", str(lst), "--key", str(tmp_path / "k")]) == 0
    capsys.readouterr()

    query = tmp_path / "cropped.jpg"
    _crop_left(_picture(1), 0.05).save(query, quality=85)
    trust = ["--trust", public]
    assert main(["list", "match", str(query), "--list", str(plain), *trust]) == 1
    capsys.readouterr()
    assert main(["list", "match", str(query), "--list", str(augmented), *trust]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1  # one match per entry id, however many of its hashes are near
    assert "entry pic1.png" in lines[0]


def test_augment_needs_images_and_a_perceptual_algorithm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "known").mkdir()
    _picture(0).save(tmp_path / "known" / "a.png")
    (tmp_path / "h.txt").write_text("0" * 64 + "\n")
    base = ["list", "build", str(tmp_path / "x.list"), "--list-id", "l", "--category", "c"]
    assert main([*base, "--hex", str(tmp_path / "h.txt"), "--augment"]) == 1
    assert "--augment needs --images" in capsys.readouterr().err
    known = ["--images", str(tmp_path / "known"), "--augment"]
    assert main([*base, *known, "--algorithm", "sha256"]) == 1
    assert "perceptual" in capsys.readouterr().err
