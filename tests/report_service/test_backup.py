"""``frankly backup`` / ``frankly restore``: the restore drill.

A populated data folder is backed up while its app is open, restored into a fresh folder
(and, for PostgreSQL, a fresh database via pg_dump / pg_restore), the audit chain is
verified against the head recorded at backup time, and the restored service opens the
evidence: the message text and the original attachment bytes, through the review API,
with a moderator token issued before the backup.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from frankly.cli import main
from report_service.app import create_app, wall_clock_ms
from report_service.keys import load_key_file
from report_service.settings import Settings
from tests.conftest import REQUIRE_POSTGRES_ENV, fresh_postgres_database
from tests.report_service.conftest import FakeClock, Service, SyncClient
from tests.report_service.review.review_support import png_bytes

TEXT = "the restore drill message"


@dataclass
class Populated:
    report_id: str
    lead_token: str
    picture: bytes


def populate(settings: Settings) -> Populated:
    keys = load_key_file(settings.resolved_key_file)
    clock = FakeClock(now_ms=wall_clock_ms() + 5_000)
    app = create_app(settings, clock=clock)
    try:
        svc = Service(app=app, client=SyncClient(app), keys=keys, clock=clock)
        svc.add_user("alice")
        svc.add_user("bob")
        picture = png_bytes(7)
        msg = svc.frank("alice", "bob", TEXT, attachments=[(picture, "image/png")])
        sha = hashlib.sha256(picture).hexdigest()
        report = svc.report("bob", [msg], attachments={sha: picture})
        assert svc.submit("bob", report).status_code == 201
        lead = app.state.review.add_moderator("cli", "lena", "lead").token
        return Populated(report.report_id, lead, picture)
    finally:
        app.state.engine.dispose()


def check_restored(settings: Settings, before: Populated) -> None:
    app = create_app(settings)
    try:
        client = SyncClient(app)
        h = {"Authorization": f"Bearer {before.lead_token}"}
        found = client.get(f"/v1/review/items?report_id={before.report_id}", headers=h)
        assert found.status_code == 200, found.text
        [item] = found.json()["items"]
        detail = client.get(f"/v1/review/items/{item['id']}", headers=h)
        assert detail.status_code == 200
        assert TEXT in detail.text
        sha = hashlib.sha256(before.picture).hexdigest()
        original = client.post(
            f"/v1/review/items/{item['id']}/media/{sha}/reveal",
            json={"reason": "restore drill: check the original opens"},
            headers=h,
        )
        assert original.status_code == 200
        assert original.content == before.picture
    finally:
        app.state.engine.dispose()


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_sqlite_restore_drill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FRANKLY_DATABASE_URL", raising=False)
    live = tmp_path / "live"
    assert main(["keys", "init", "--data", str(live)]) == 0
    before = populate(Settings(environment="development", data_dir=live))
    dest = tmp_path / "backups" / "b1"
    capsys.readouterr()

    # The service's database stays open (WAL mode, a live engine) during the backup.
    holder = create_app(Settings(environment="development", data_dir=live))
    try:
        assert main(["backup", str(dest), "--data", str(live)]) == 0
    finally:
        holder.state.engine.dispose()
    assert "audit head" in capsys.readouterr().out
    assert mode(dest) == 0o700
    assert sorted(p.name for p in dest.iterdir()) == [
        "MANIFEST.json",
        "frankly.sqlite",
        "keys.json",
    ]
    assert all(mode(p) == 0o600 for p in dest.iterdir())
    manifest = json.loads((dest / "MANIFEST.json").read_text())
    assert manifest["database"] == "sqlite"
    assert manifest["audit_head"]["seq"] >= 1
    assert manifest["master_key_ids_needed"] == [load_key_file(live / "keys.json").master_active]

    assert main(["backup", str(dest), "--data", str(live)]) == 2  # never into a used folder
    assert "not an empty folder" in capsys.readouterr().err

    fresh = tmp_path / "restored"
    assert main(["restore", str(dest), "--data", str(fresh)]) == 0
    assert "audit chain ok" in capsys.readouterr().out
    assert mode(fresh / "keys.json") == 0o600
    assert mode(fresh / "frankly.sqlite") == 0o600
    head = manifest["audit_head"]["hash"]
    assert main(["audit", "verify", "--expect-head", head, "--data", str(fresh)]) == 0
    check_restored(Settings(environment="development", data_dir=fresh), before)

    # Restoring never overwrites, and an altered backup is refused.
    assert main(["restore", str(dest), "--data", str(fresh)]) == 2
    assert "fresh data folder" in capsys.readouterr().err
    altered = tmp_path / "altered"
    shutil.copytree(dest, altered)
    raw = bytearray((altered / "frankly.sqlite").read_bytes())
    raw[len(raw) // 2] ^= 1
    (altered / "frankly.sqlite").write_bytes(bytes(raw))
    assert main(["restore", str(altered), "--data", str(tmp_path / "other")]) == 2
    assert "does not match the manifest" in capsys.readouterr().err
    assert not (tmp_path / "other" / "keys.json").exists()


def test_backup_refuses_a_key_file_that_cannot_open_the_evidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FRANKLY_DATABASE_URL", raising=False)
    live = tmp_path / "live"
    assert main(["keys", "init", "--data", str(live)]) == 0
    populate(Settings(environment="development", data_dir=live))
    # A key file from another installation: it lacks the master key of the evidence.
    other = tmp_path / "other"
    assert main(["keys", "init", "--data", str(other)]) == 0
    shutil.copy(other / "keys.json", live / "keys.json")
    capsys.readouterr()
    assert main(["backup", str(tmp_path / "b"), "--data", str(live)]) == 2
    assert "lacks master key" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()  # nothing half-made is left behind
    assert main(["backup", "/proc/no/such/folder", "--data", str(live)]) == 2
    assert "cannot make the backup" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "missing"), "--data", str(tmp_path / "r")]) == 2
    assert "no backup folder" in capsys.readouterr().err


def test_postgres_restore_drill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
            pytest.fail("pg_dump and pg_restore are required here (postgresql-client)")
        pytest.skip("pg_dump / pg_restore are not installed")
    with fresh_postgres_database() as source, fresh_postgres_database() as target:
        live = tmp_path / "live"
        monkeypatch.setenv("FRANKLY_DATABASE_URL", source)
        assert main(["keys", "init", "--data", str(live)]) == 0
        before = populate(Settings(environment="development", data_dir=live, database_url=source))
        dest = tmp_path / "b1"
        assert main(["backup", str(dest), "--data", str(live)]) == 0
        assert sorted(p.name for p in dest.iterdir()) == [
            "MANIFEST.json",
            "database.dump",
            "keys.json",
        ]
        assert all(mode(p) == 0o600 for p in dest.iterdir())
        manifest = json.loads((dest / "MANIFEST.json").read_text())
        capsys.readouterr()

        monkeypatch.setenv("FRANKLY_DATABASE_URL", target)
        fresh = tmp_path / "restored"
        assert main(["restore", str(dest), "--data", str(fresh)]) == 0
        assert "audit chain ok" in capsys.readouterr().out
        head = manifest["audit_head"]["hash"]
        assert main(["audit", "verify", "--expect-head", head, "--data", str(fresh)]) == 0
        check_restored(
            Settings(environment="development", data_dir=fresh, database_url=target), before
        )
        # The target now holds tables: a second restore is refused.
        assert main(["restore", str(dest), "--data", str(tmp_path / "again")]) == 2
        assert "not empty" in capsys.readouterr().err
