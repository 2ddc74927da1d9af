"""`frankly hash` and `frankly list build|info|match` with videos (issue 16)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from frankly.cli import main
from hashes.lists import parse_list
from hashes.video import VideoHash, hash_video
from tests.hashes import video_support as vs
from tests.hashes.video_hostile import many_streams


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    (root / "scene.mp4").write_bytes(vs.encode(vs.scene_frames()))
    (root / "stripes.webm").write_bytes(
        vs.encode(vs.pattern_frames(20), container="webm", codec="libvpx-vp9", crf=40)
    )
    (root / "photo.png").write_bytes((vs.MISC / "c.png").read_bytes())
    return root


def test_hash_prints_vpdq_md5_and_sha256_for_videos(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hash", str(folder)]) == 0
    rows = {Path(r["path"]).name: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    scene = rows["scene.mp4"]
    want = hash_video((folder / "scene.mp4").read_bytes())
    assert scene["media"] == "video"
    assert scene["format"] == "mp4"
    assert VideoHash.from_vpdq("\n".join(scene["vpdq"])).frames == tuple(
        VideoHash.from_vpdq(want.to_vpdq()).frames
    )
    assert want.sha256 is not None
    assert want.md5 is not None
    assert scene["sha256"] == want.sha256.to_text()
    assert scene["md5"] == want.md5.to_text()
    assert (scene["width"], scene["height"], scene["fps"], scene["duration_s"]) == (
        160,
        120,
        10.0,
        6.0,
    )
    assert rows["stripes.webm"]["format"] == "matroska"
    assert "pdq" in rows["photo.png"]


def test_hash_csv_has_the_video_columns(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hash", "--format", "csv", str(folder / "scene.mp4")]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.endswith("media,duration_s,fps,vpdq")
    assert ",video,6.0,10.0," in row


def test_a_hostile_video_is_reported_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.mkv").write_bytes(many_streams(20))
    assert main(["hash", str(tmp_path / "bad.mkv")]) == 1
    assert "TooManyStreams" in capsys.readouterr().err
    assert main(["hash", str(tmp_path), "--video-timeout", "0"]) == 2


def test_build_sign_match_a_list_of_videos(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "curator.key"
    assert main(["list", "keygen", str(key)]) == 0
    public = capsys.readouterr().out.split()[-1]
    base64.b64decode(public, validate=True)
    vpdq_file = tmp_path / "stripes.vpdq"
    vpdq_file.write_text(hash_video((folder / "stripes.webm").read_bytes()).to_vpdq())
    out = tmp_path / "v.list"
    built = [
        "list", "build", str(out), "--list-id", "vids", "--category", "terror",
        "--videos", str(folder / "scene.mp4"), "--vpdq", str(vpdq_file),
        "--issued-at-ms", "0",
    ]  # fmt: skip
    assert main(built) == 0
    assert "2 vPDQ video entries" in capsys.readouterr().out
    parsed, _ = parse_list(out.read_bytes())
    assert parsed.videos is not None
    assert [parsed.videos.entry_id(i) for i in range(2)] == ["scene.mp4", "stripes.vpdq"]
    assert main(["list", "info", str(out)]) == 0
    assert "videos:          2 vPDQ" in capsys.readouterr().out
    assert main(["list", "sign", str(out), "--key", str(key)]) == 0
    capsys.readouterr()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(vs.encode(vs.resize(vs.scene_frames()[20:50], (120, 90)), crf=33))
    other = tmp_path / "other.mp4"
    other.write_bytes(vs.encode(vs.pattern_frames(30, (96, 72))[::-1]))
    status = main(["list", "match", str(clip), "--list", str(out), "--trust", public])
    assert status == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{clip}: MATCH vids v1 category terror video vpdq query 100.0 %")
    assert line.endswith("entry scene.mp4")
    assert main(["list", "match", str(other), "--list", str(out), "--trust", public]) in (0, 1)
    assert "scene.mp4" not in capsys.readouterr().out


def test_build_refuses_a_hostile_video(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(many_streams(20))
    args = ["list", "build", str(tmp_path / "x.list"), "--list-id", "x", "--category", "c"]
    assert main([*args, "--videos", str(bad)]) == 1
    assert "TooManyStreams" in capsys.readouterr().err


def test_export_vpdq_and_diff_video_entries(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--list-id", "vids", "--category", "terror", "--issued-at-ms", "0"]
    v1, v2 = tmp_path / "v1.list", tmp_path / "v2.list"
    assert main(["list", "build", str(v1), *common, "--videos", str(folder / "scene.mp4")]) == 0
    videos = ["--videos", str(folder / "scene.mp4"), "--videos", str(folder / "stripes.webm")]
    assert main(["list", "build", str(v2), *common, "--version", "2", *videos]) == 0
    capsys.readouterr()
    assert main(["list", "diff", str(v1), str(v2)]) == 0
    lines = capsys.readouterr().out.splitlines()
    stripes = hash_video((folder / "stripes.webm").read_bytes())
    assert stripes.sha256 is not None
    assert lines[1:] == [
        f"+ video sha256:{stripes.sha256.hex} ({len(stripes.frames)} frames),terror,stripes.webm"
    ]
    out = tmp_path / "exported"
    assert main(["list", "export", str(v2), "--format", "vpdq", "--out", str(out)]) == 0
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["000000-scene.mp4.vpdq", "000001-stripes.webm.vpdq"]
    assert VideoHash.from_vpdq(files[1].read_text()).to_vpdq() == stripes.to_vpdq()
    assert main(["list", "export", str(v2), "--format", "vpdq"]) == 1
    assert "--out" in capsys.readouterr().err
