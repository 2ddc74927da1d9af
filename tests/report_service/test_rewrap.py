"""Re-wrapping data keys under a new evidence master key and retiring the old one
(``frankly keys rewrap`` / ``retire-master``): what makes crypto-shredding final."""

from __future__ import annotations

import io
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from frankly.cli import main
from report_service.app import create_app, wall_clock_ms
from report_service.errors import EvidenceDestroyed, KeyFileError
from report_service.evidence import open_blob, unwrap_data_key
from report_service.keys import KeyMaterial, load_key_file, rotate_key
from report_service.review.lifecycle.rewrap import (
    MasterKeyInUse,
    retire_master,
    rewrap,
    wrapped_under,
)
from report_service.settings import Settings
from report_service.storage.evidence import destroy_evidence, read_evidence
from report_service.storage.models import EvidenceBlob, EvidenceKey
from tests.report_service.conftest import T0, FakeClock, Service, SyncClient


def submit(svc: Service, body: str) -> str:
    report = svc.report("bob", [svc.frank("alice", "bob", body)])
    r = svc.submit("bob", report)
    assert r.status_code == 201, r.text
    return report.report_id


def open_from_copy(
    copy: dict[str, tuple[str, bytes]], blobs: dict[str, bytes], keys: KeyMaterial, rid: str
) -> bytes:
    """Open a report's comment-less payload from an old database copy with ``keys``."""
    kid, wrapped = copy[rid]
    data_key = unwrap_data_key(keys.master_key(kid).key, kid, rid, wrapped)
    return open_blob(data_key, rid, "message", "0", blobs[rid])


def test_rewrap_then_retire_makes_old_copies_useless(service: Service) -> None:
    sessions = service.app.state.session_factory
    ids = [submit(service, f"message {n}") for n in range(5)]
    destroyed = ids[0]
    # A database backup taken now (before the destruction): the wrapped keys and blobs.
    with sessions() as s:
        copy = {
            r.report_id: (r.master_key_id, r.wrapped_key) for r in s.scalars(select(EvidenceKey))
        }
        blobs = {
            b.report_id: b.ciphertext
            for b in s.scalars(select(EvidenceBlob).where(EvidenceBlob.kind == "message"))
        }
    old_keys = service.keys  # a key-file backup taken now
    old_kid = old_keys.master_active
    with sessions() as s:
        destroy_evidence(s, destroyed, T0)

    new_keys = rotate_key(old_keys, "master", os.urandom, T0)
    saved: list[KeyMaterial] = []
    with pytest.raises(MasterKeyInUse, match="still wrapped"):
        retire_master(
            sessions, new_keys, old_kid, actor="t", clock=service.clock, save=saved.append
        )
    with pytest.raises(MasterKeyInUse, match="active"):
        retire_master(
            sessions,
            new_keys,
            new_keys.master_active,
            actor="t",
            clock=service.clock,
            save=saved.append,
        )

    # Resumable: one batch of two, stop, then the rest; a third run has nothing to do.
    first = rewrap(
        sessions,
        new_keys,
        actor="t",
        clock=service.clock,
        random=os.urandom,
        batch=2,
        max_batches=1,
    )
    assert (first.rewrapped, first.batches, first.remaining) == (2, 1, 2)
    rest = rewrap(sessions, new_keys, actor="t", clock=service.clock, random=os.urandom, batch=2)
    assert (rest.rewrapped, rest.batches, rest.remaining) == (2, 1, 0)
    again = rewrap(sessions, new_keys, actor="t", clock=service.clock, random=os.urandom)
    assert (again.rewrapped, again.batches, again.remaining) == (0, 0, 0)
    with sessions() as s:
        assert wrapped_under(s) == {new_keys.master_active: 4}
        row = s.get(EvidenceKey, destroyed)
        assert row is not None
        assert row.wrapped_key is None  # nothing to re-wrap: destroyed stays destroyed
        # Every live report still opens, now under the new master key only.
        for rid in ids[1:]:
            assert read_evidence(s, new_keys, rid, "message", "0")

    current = retire_master(
        sessions, new_keys, old_kid, actor="t", clock=service.clock, save=saved.append
    )
    assert saved == [current]
    assert [m.kid for m in current.master] == [new_keys.master_active]
    with sessions() as s:
        for rid in ids[1:]:
            assert read_evidence(s, current, rid, "message", "0")
        with pytest.raises(EvidenceDestroyed):
            read_evidence(s, current, destroyed, "message", "0")

    # The old database copy still holds the destroyed report's wrapped key, but the
    # current key file cannot open it: the master key it needs is gone.
    with pytest.raises(KeyFileError, match="no master key"):
        open_from_copy(copy, blobs, current, destroyed)
    # What is left: the old copy together with an old key-file backup still opens it.
    # Destruction is final once such key-file backups are deleted too (docs/operations.md).
    assert open_from_copy(copy, blobs, old_keys, destroyed)

    auditor = service.app.state.review.add_moderator("cli", "au", "auditor").token
    headers = {"Authorization": f"Bearer {auditor}"}
    audit = service.client.get("/v1/audit", headers=headers).json()["entries"]
    rewraps = [e for e in audit if e["action"] == "evidence_rewrap"]
    assert [e["detail"]["count"] for e in rewraps] == [2, 2]
    assert rewraps[0]["detail"]["from"] == [old_kid]
    [retired] = [e for e in audit if e["action"] == "master_key_retire"]
    assert retired["detail"] == {"kid": old_kid, "active": new_keys.master_active}
    assert service.client.get("/v1/audit/verify", headers=headers).json()["ok"] is True


def test_rewrap_refuses_a_row_under_an_unknown_master_key(service: Service) -> None:
    sessions = service.app.state.session_factory
    rid = submit(service, "hello")
    stranger = rotate_key(service.keys, "master", os.urandom, T0)
    lost = replace(stranger, master=(stranger.active_master,))
    with pytest.raises(KeyFileError, match="no master key"):
        rewrap(sessions, lost, actor="t", clock=service.clock, random=os.urandom)
    with sessions() as s:
        assert read_evidence(s, service.keys, rid, "message", "0")  # unchanged


def test_cli_rewrap_and_retire(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("FRANKLY_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    d = ["--data", str(data)]
    assert main(["keys", "init", *d]) == 0
    settings = Settings(environment="development", data_dir=data)
    keys = load_key_file(settings.resolved_key_file)
    clock = FakeClock(now_ms=wall_clock_ms() + 5_000)
    app = create_app(settings, clock=clock)
    svc = Service(app=app, client=SyncClient(app), keys=keys, clock=clock)
    svc.add_user("alice")
    svc.add_user("bob")
    rid = submit(svc, "keep me")
    app.state.engine.dispose()
    old_kid = keys.master_active
    capsys.readouterr()

    assert main(["keys", "rewrap", *d]) == 0
    assert "re-wrapped 0 data keys" in capsys.readouterr().out
    assert main(["keys", "rotate", "master", *d]) == 0
    assert main(["keys", "retire-master", old_kid, "--yes", *d]) == 2
    assert "keys rewrap" in capsys.readouterr().err
    assert main(["keys", "rewrap", "--batch", "0", *d]) == 2
    assert main(["keys", "rewrap", *d]) == 0
    out = capsys.readouterr().out
    assert "re-wrapped 1 data keys" in out
    assert f"keys retire-master {old_kid}" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert main(["keys", "retire-master", old_kid, *d]) == 1  # no terminal, no --yes
    assert old_kid in settings.resolved_key_file.read_text()
    assert main(["keys", "retire-master", old_kid, "--yes", *d]) == 0
    assert old_kid not in settings.resolved_key_file.read_text()
    assert settings.resolved_key_file.stat().st_mode & 0o777 == 0o600
    assert main(["keys", "retire-master", old_kid, "--yes", *d]) == 2
    assert "no master key" in capsys.readouterr().err
    assert main(["audit", "verify", *d]) == 0

    restarted = create_app(settings, clock=clock)
    try:
        with restarted.state.session_factory() as s:
            plain = read_evidence(s, restarted.state.keys, rid, "message", "0")
        assert json.loads(plain)["sender_id"] == "alice"
    finally:
        restarted.state.engine.dispose()
