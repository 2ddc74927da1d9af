"""The service's video bank through the operator's commands: a curator key rotation hands
the video list over with its video entries (``republish`` keeps them), and
``frankly banks list`` counts them. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from frankly.cli import main
from hashes.lists import TrustPolicy, load_list
from hashes.video import hash_video
from report_service.app import create_app
from report_service.banks import SERVICE_LIST_ID, SERVICE_VIDEO_LIST_ID
from report_service.keys import load_key_file
from report_service.settings import Settings
from tests.hashes import video_support as vs

from .test_banks_admin import pdq


@pytest.fixture
def data(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FRANKLY_DATABASE_URL", database_url)
    monkeypatch.setenv("FRANKLY_ENVIRONMENT", "development")
    folder = tmp_path / "data"
    assert main(["keys", "init", "--data", str(folder)]) == 0
    return folder


def test_rotation_hands_the_video_list_over_with_its_videos(
    data: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    video = hash_video(vs.encode(vs.pattern_frames(30)))
    app = create_app(Settings(environment="development", data_dir=data, database_url=database_url))
    banks = app.state.banks
    try:
        banks.add_entry(pdq(1), "csam", "e1", 1)
        assert banks.add_video(video, "csam", "v1", 2).version == 1
        assert banks.add_video(video, "csam", "v1-again", 3).version == 1  # idempotent
        assert banks.add_video(video, "ncii", "v2", 4).version == 2
        assert main(["banks", "list", "--data", str(data)]) == 0
        out = capsys.readouterr().out
        assert f"list {SERVICE_VIDEO_LIST_ID}: version 2, 0 entries, 2 videos" in out
        assert f"list {SERVICE_LIST_ID}: version 1, 1 entries," in out
        assert main(["banks", "rotate-curator", "--data", str(data)]) == 0
        new_key = load_key_file(data / "keys.json").curator.public_key
        handed = load_list(
            banks.export(SERVICE_VIDEO_LIST_ID), TrustPolicy(curator_keys={"n": new_key})
        )
        assert handed.header.version == 3
        assert handed.videos is not None
        assert [handed.videos.entry_id(i) for i in range(len(handed.videos))] == ["v1", "v2"]
        assert handed.videos.video(0).frames == video.frames
        banks.refresh()
        assert [h.entry_id for h in banks.match_video(video)] == ["v1", "v2"]
    finally:
        banks.close()
        app.state.engine.dispose()
