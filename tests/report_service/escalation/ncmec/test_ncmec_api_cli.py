"""``/v1/review/ncmec`` over real HTTP, ``frankly ncmec``, the hand-filing export and
migration ``0011`` (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import inspect

import report_service.escalation.ncmec.models  # noqa: F401  (registers the tables)
from frankly.cli import main
from report_service.escalation.ncmec.api import install as install_ncmec
from report_service.escalation.ncmec.export import export_package
from report_service.http_errors import install_error_handlers
from report_service.review.api import install as install_review
from report_service.review.audit.store import AuditFilter, query_audit
from report_service.review.errors import InvalidState
from report_service.review.media.evidence_access import MasterKeyEvidence
from report_service.server import BackgroundServer
from report_service.storage.base import Base
from report_service.storage.engine import make_engine
from report_service.storage.migrate import alembic_config, upgrade_database
from tests.report_service.escalation.ncmec.ncmec_support import PROFILE, World, make_world
from tests.report_service.review.review_support import MASTER_KEY, png_bytes


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with make_world(database_url) as w:
        yield w


@pytest.fixture
def api(world: World) -> Iterator[httpx.Client]:
    app = FastAPI()
    install_error_handlers(app)
    install_review(app, world.review)
    install_ncmec(app, world.ncmec)
    with BackgroundServer(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def _h(world: World, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.env.tokens[role]}"}


def test_the_api_lists_shows_and_approves_for_the_child_safety_lead_only(
    world: World, api: httpx.Client
) -> None:
    item = world.confirm()
    listed = api.get("/v1/review/ncmec", headers=_h(world, "child_safety"))
    assert listed.status_code == 200
    [report] = listed.json()["reports"]
    assert (report["item_id"], report["status"]) == (item, "prepared")
    rid = report["id"]
    assert api.get(f"/v1/review/ncmec/{rid}", headers=_h(world, "safety_lead")).status_code == 200
    for role, status in (("lead", 403), ("moderator", 403), ("child_safety", 403)):
        r = api.post(f"/v1/review/ncmec/{rid}/approve", json={}, headers=_h(world, role))
        assert r.status_code == status
        assert r.json()["error"]["code"] == "forbidden"
    assert api.get("/v1/review/ncmec", headers=_h(world, "moderator")).status_code == 403
    assert api.get("/v1/review/ncmec").status_code == 401
    assert api.get("/v1/review/ncmec/999", headers=_h(world, "safety_lead")).status_code == 404
    bad = api.post(
        f"/v1/review/ncmec/{rid}/approve",
        json={"classification": "C9"},
        headers=_h(world, "safety_lead"),
    )
    assert bad.status_code == 422
    ok = api.post(
        f"/v1/review/ncmec/{rid}/approve",
        json={"classification": "B2", "screen_name": "mal"},
        headers=_h(world, "safety_lead"),
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["status"] == "approved"
    assert body["approved_by"] == "safety_lead-1"
    assert body["files"][0]["classification"] == "B2"
    again = api.post(f"/v1/review/ncmec/{rid}/approve", headers=_h(world, "safety_lead"))
    assert again.status_code == 409
    assert world.env.service.audit_verify().ok


def test_export_writes_a_private_package_of_an_approved_report(
    world: World, tmp_path: Path
) -> None:
    item = world.confirm(files=2)
    evidence = MasterKeyEvidence(lambda kid: MASTER_KEY)
    out = tmp_path / "package"
    with pytest.raises(InvalidState):
        export_package(
            world.env.sf, evidence, PROFILE, str(item), out, actor="t", clock=world.env.clock
        )
    assert not out.exists()
    rid = world.approve(item)
    manifest = export_package(
        world.env.sf, evidence, PROFILE, f"ct-{rid}", out, actor="t", clock=world.env.clock
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"report.xml", "file-1.xml", "file-2.xml", "manifest.json"}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in written)
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    for entry in on_disk["files"]:
        data = (out / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert hashlib.md5(data, usedforsecurity=False).hexdigest() == entry["md5"]
    shas = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (out / "files").iterdir()}
    assert shas == {hashlib.sha256(png_bytes(seed=s)).hexdigest() for s in (7, 8)}
    with world.env.sf() as session:
        assert [e.action for e in query_audit(session, AuditFilter(action="ncmec_export"))] == [
            "ncmec_export"
        ]
    with pytest.raises(FileExistsError):
        export_package(
            world.env.sf, evidence, PROFILE, str(item), out, actor="t", clock=world.env.clock
        )


def test_the_command_line_lists_approves_and_refuses_to_send_unconfigured(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("FRANKLY_") and not name.startswith(
            ("FRANKLY_TEST_", "FRANKLY_REQUIRE_")
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FRANKLY_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("FRANKLY_ENVIRONMENT", "development")
    data = ["--data", str(tmp_path / "data")]
    with make_world(sqlite_url) as world:
        item = world.confirm()
        row = world.report_of(item)
        assert row is not None
        assert main(["ncmec", "list", *data]) == 0
        assert f"ct-{row.id}\titem {item}\tprepared" in capsys.readouterr().out
        assert main(["ncmec", "approve", str(row.id), "--by", "lead-1", *data]) == 2
        assert "safety_lead" in capsys.readouterr().err
        args = ["ncmec", "approve", str(row.id), "--by", "safety_lead-1", "--classification", "A2"]
        assert main([*args, *data]) == 0
        assert world.row(row.id).status == "approved"
        assert main(["ncmec", "show", str(row.id), *data]) == 0
        shown = json.loads(capsys.readouterr().out.split("\n", 1)[1])
        assert shown["files"][0]["classification"] == "A2"
        key_file = tmp_path / "data" / "keys.json"
        assert main(["keys", "init", *data]) == 0
        assert key_file.exists()
        capsys.readouterr()
        assert main(["ncmec", "submit", *data]) == 2
        assert "not configured" in capsys.readouterr().err
        assert world.server.calls == []


def test_migration_0011_creates_the_tables_and_downgrades(database_url: str) -> None:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(mc, Base.metadata)
        assert [d for d in diff if "ncmec_" in repr(d)] == []
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0010")
        names = set(inspect(engine).get_table_names())
        assert not {"ncmec_reports", "ncmec_files"} & names
        assert "review_items" in names
    finally:
        engine.dispose()
    upgrade_database(database_url)


def test_the_serve_loop_sends_approved_reports_and_stops(world: World, tmp_path: Path) -> None:
    import time

    from report_service.app import start_ncmec_submitter
    from report_service.escalation.ncmec.local_server import PASSWORD, USER
    from report_service.settings import Settings

    password_file = tmp_path / "ncmec-password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    settings = Settings(
        environment="development",
        data_dir=tmp_path,
        ncmec_url=world.url + "/ispws",
        ncmec_username=USER,
        ncmec_password_file=password_file,
        ncmec_reporter_email="tips@example.org",
        ncmec_submit_interval_s=0.05,
    )
    evidence = MasterKeyEvidence(lambda kid: MASTER_KEY)
    rid = world.approve(world.confirm())
    stop = start_ncmec_submitter(settings, world.env.sf, world.env.clock, evidence)
    assert stop is not None
    try:
        deadline = time.monotonic() + 120  # a deadline for a loaded machine, not a timing
        while world.row(rid).status != "submitted" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop()
    assert world.row(rid).status == "submitted"
    assert len(world.server.finished()) == 1
    unconfigured = Settings(environment="development", data_dir=tmp_path)
    assert start_ncmec_submitter(unconfigured, world.env.sf, world.env.clock, evidence) is None


def test_a_loose_or_empty_password_file_is_refused(tmp_path: Path) -> None:
    from report_service.escalation.ncmec import config
    from report_service.escalation.ncmec.errors import NotConfigured
    from report_service.settings import Settings

    path = tmp_path / "pw"
    path.write_text("hunter2-secret\n")
    path.chmod(0o644)
    settings = Settings(
        environment="development",
        data_dir=tmp_path,
        ncmec_url="http://127.0.0.1:9/ispws",
        ncmec_username="esp",
        ncmec_password_file=path,
    )
    with pytest.raises(NotConfigured, match="0600") as info:
        config.client(settings)
    assert "hunter2" not in str(info.value)
    path.chmod(0o600)
    assert config.password(settings) == "hunter2-secret"
    path.write_text("\n")
    with pytest.raises(NotConfigured, match="empty"):
        config.password(settings)
    with pytest.raises(NotConfigured, match="REPORTER_EMAIL"):
        config.profile(settings)
