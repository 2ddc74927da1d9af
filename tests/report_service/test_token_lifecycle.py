"""Rotate and revoke every kind of bearer token (issue 12, defects 9 and 10).

Over HTTP (admin) and the command line, audited; a revoked or rotated-out token gets 401
at once in every process (the state is in the database); a revoked moderator name can be
reissued; the last active admin cannot be revoked except by ``--force`` offline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from frankly.cli import main
from report_service.app import create_app
from report_service.keys import KeyMaterial
from report_service.review.service import ReviewService
from report_service.settings import Settings
from tests.report_service.conftest import FakeClock, Service, SyncClient


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(service: Service) -> str:
    review: ReviewService = service.app.state.review
    return review.add_moderator("cli", "root", "admin").token


def audit_actions(service: Service, admin: str, action: str) -> list[dict[str, Any]]:
    page = service.client.get(f"/v1/audit?action={action}", headers=bearer(admin))
    assert page.status_code == 200
    entries: list[dict[str, Any]] = page.json()["entries"]
    return entries


def test_admin_revokes_and_reissues_a_user_over_http(service: Service, admin: str) -> None:
    old = service.tokens["bob"]
    assert service.client.get("/v1/relay/inbox", headers=bearer(old)).status_code == 200
    r = service.client.request("DELETE", "/v1/review/users/bob", headers=bearer(admin))
    assert r.status_code == 200, r.text
    assert r.json()["revoked_at"] == service.clock()
    assert service.client.get("/v1/relay/inbox", headers=bearer(old)).status_code == 401
    again = service.client.request("DELETE", "/v1/review/users/bob", headers=bearer(admin))
    assert again.status_code == 404
    users = service.client.get("/v1/review/users", headers=bearer(admin)).json()["users"]
    assert {u["id"]: u["revoked_at"] is not None for u in users} == {
        "alice": False,
        "bob": True,
        "carol": False,
    }
    assert "token" not in json.dumps(users)
    first = service.client.get("/v1/review/users?limit=2", headers=bearer(admin)).json()
    assert [u["id"] for u in first["users"]] == ["alice", "bob"]
    assert first["next"] == "bob"
    rest = service.client.get("/v1/review/users?limit=2&after=bob", headers=bearer(admin))
    assert [u["id"] for u in rest.json()["users"]] == ["carol"]
    assert rest.json()["next"] is None

    issued = service.client.post("/v1/review/users/bob/token", headers=bearer(admin)).json()
    assert issued["reactivated"] is True
    assert len(issued["token"]) == 43
    assert service.client.get("/v1/relay/inbox", headers=bearer(old)).status_code == 401
    new = bearer(issued["token"])
    assert service.client.get("/v1/relay/inbox", headers=new).status_code == 200

    [revoked] = audit_actions(service, admin, "user_revoke")
    assert revoked["actor"] == "root"
    assert revoked["detail"] == {"name": "bob"}
    [rotated] = audit_actions(service, admin, "user_rotate")
    assert rotated["detail"] == {"name": "bob", "reactivated": True}
    audit_text = service.client.get("/v1/audit", headers=bearer(admin)).text
    assert issued["token"] not in audit_text


def test_a_revoked_reporter_cannot_submit(service: Service, admin: str) -> None:
    """``POST /v1/reports`` checks the token (with the rate limiter's state) on a Core
    connection of the read engine: a revoked user's token is refused there, on both
    engines, and nothing is stored."""
    report = service.report("bob", [service.frank("alice", "bob")])
    r = service.client.request("DELETE", "/v1/review/users/bob", headers=bearer(admin))
    assert r.status_code == 200, r.text
    refused = service.submit("bob", report)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    issued = service.client.post("/v1/review/users/bob/token", headers=bearer(admin)).json()
    service.tokens["bob"] = issued["token"]
    assert service.submit("bob", report).status_code == 201  # never stored before


def test_rotating_a_user_token_retires_the_old_one(service: Service, admin: str) -> None:
    old = service.tokens["alice"]
    issued = service.client.post("/v1/review/users/alice/token", headers=bearer(admin))
    assert issued.status_code == 200
    assert issued.json()["reactivated"] is False
    assert service.client.get("/v1/relay/inbox", headers=bearer(old)).status_code == 401
    fresh = bearer(issued.json()["token"])
    assert service.client.get("/v1/relay/inbox", headers=fresh).status_code == 200
    missing = service.client.post("/v1/review/users/nobody/token", headers=bearer(admin))
    assert missing.status_code == 404


def test_admin_rotates_a_moderator_token(service: Service, admin: str) -> None:
    review: ReviewService = service.app.state.review
    mia = review.add_moderator("cli", "mia", "moderator").token
    r = service.client.post("/v1/review/moderators/mia/token", headers=bearer(admin))
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "mia"
    assert r.json()["role"] == "moderator"
    assert service.client.get("/v1/review/me", headers=bearer(mia)).status_code == 401
    new = bearer(r.json()["token"])
    assert service.client.get("/v1/review/me", headers=new).json()["name"] == "mia"
    [entry] = audit_actions(service, admin, "moderator_rotate")
    assert entry["detail"] == {"name": "mia"}
    assert entry["actor"] == "root"


@pytest.mark.parametrize("role", ["moderator", "child_safety", "lead", "auditor"])
def test_only_admins_manage_tokens(service: Service, admin: str, role: str) -> None:
    review: ReviewService = service.app.state.review
    token = review.add_moderator("cli", f"x-{role}", role).token
    h = bearer(token)
    c = service.client
    assert c.get("/v1/review/users", headers=h).status_code == 403
    assert c.post("/v1/review/users/bob/token", headers=h).status_code == 403
    assert c.request("DELETE", "/v1/review/users/bob", headers=h).status_code == 403
    assert c.post("/v1/review/moderators/root/token", headers=h).status_code == 403
    assert c.get("/v1/relay/inbox", headers=service.auth("bob")).status_code == 200
    assert c.get("/v1/review/users").status_code == 401


def test_the_last_admin_cannot_revoke_itself(service: Service, admin: str) -> None:
    c = service.client
    r = c.request("DELETE", "/v1/review/moderators/root", headers=bearer(admin))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "last_admin"
    assert c.get("/v1/review/me", headers=bearer(admin)).status_code == 200
    review: ReviewService = service.app.state.review
    second = review.add_moderator("cli", "root2", "admin").token
    assert c.request("DELETE", "/v1/review/moderators/root", headers=bearer(admin)).status_code
    assert c.get("/v1/review/me", headers=bearer(admin)).status_code == 401
    last = c.request("DELETE", "/v1/review/moderators/root2", headers=bearer(second))
    assert last.status_code == 409
    assert c.get("/v1/review/users", headers=bearer(second)).status_code == 200
    # Revoking another (non-admin) account is unaffected by the guard.
    review.add_moderator("cli", "mia", "moderator")
    assert c.request("DELETE", "/v1/review/moderators/mia", headers=bearer(second)).status_code


@pytest.fixture
def two_processes(
    database_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock
) -> Iterator[tuple[Service, SyncClient]]:
    """Two apps (as two service processes would be) on the same database."""
    from tests.report_service.conftest import make_service

    for svc in make_service(database_url, tmp_path, keys, clock):
        svc.add_user("alice")
        other = create_app(
            Settings(
                environment="development", data_dir=tmp_path / "d2", database_url=database_url
            ),
            keys=keys,
            clock=clock,
        )
        try:
            yield svc, SyncClient(other)
        finally:
            other.state.engine.dispose()


def test_a_revocation_holds_in_every_process(two_processes: tuple[Service, SyncClient]) -> None:
    svc, other = two_processes
    review: ReviewService = svc.app.state.review
    admin = review.add_moderator("cli", "root", "admin").token
    mia = review.add_moderator("cli", "mia", "moderator").token
    alice = svc.auth("alice")
    assert other.get("/v1/relay/inbox", headers=alice).status_code == 200
    assert other.get("/v1/review/me", headers=bearer(mia)).status_code == 200
    assert svc.client.request("DELETE", "/v1/review/users/alice", headers=bearer(admin))
    assert svc.client.request("DELETE", "/v1/review/moderators/mia", headers=bearer(admin))
    assert other.get("/v1/relay/inbox", headers=alice).status_code == 401
    assert other.get("/v1/review/me", headers=bearer(mia)).status_code == 401


def test_cli_token_lifecycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FRANKLY_DATABASE_URL", raising=False)
    data = ["--data", str(tmp_path / "data")]
    assert main(["keys", "init", *data]) == 0
    assert main(["users", "add", "alice", *data]) == 0
    capsys.readouterr()
    assert main(["users", "rotate", "alice", *data]) == 0
    out = capsys.readouterr()
    assert len(out.out.strip()) == 43
    assert "shown once" in out.err.lower()
    assert main(["users", "revoke", "alice", *data]) == 0
    assert main(["users", "revoke", "alice", *data]) == 2
    assert "no active user" in capsys.readouterr().err
    assert main(["users", "add", "alice", *data]) == 2
    assert "users rotate alice" in capsys.readouterr().err
    assert main(["users", "list", *data]) == 0
    assert capsys.readouterr().out == "alice\trevoked\n"
    assert main(["users", "rotate", "alice", *data]) == 0
    assert "active again" in capsys.readouterr().err
    assert main(["users", "rotate", "nobody", *data]) == 2
    assert "no user 'nobody'" in capsys.readouterr().err

    # Moderators: rotate, the last-admin guard, --force, and reissuing a revoked name.
    assert main(["moderators", "add", "root", "--role", "admin", *data]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["moderators", "rotate", "root", *data]) == 0
    rotated = capsys.readouterr().out.strip()
    assert len(rotated) == 43
    assert rotated != first
    assert main(["moderators", "revoke", "root", *data]) == 2
    assert "last active admin" in capsys.readouterr().err
    assert main(["moderators", "revoke", "root", "--force", *data]) == 0
    assert main(["moderators", "rotate", "root", *data]) == 2
    capsys.readouterr()
    assert main(["moderators", "add", "root", "--role", "lead", *data]) == 0
    capsys.readouterr()
    assert main(["moderators", "list", *data]) == 0
    assert capsys.readouterr().out == "root\tlead\tactive\n"
    assert main(["audit", "verify", *data]) == 0
    capsys.readouterr()
    assert main(["audit", "show", *data]) == 0
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    actions = [(e["actor"], e["action"]) for e in entries]
    assert actions == [
        ("cli", "user_rotate"),
        ("cli", "user_revoke"),
        ("cli", "user_rotate"),
        ("cli", "moderator_add"),
        ("cli", "moderator_rotate"),
        ("cli", "moderator_revoke"),
        ("cli", "moderator_add"),
    ]
    assert entries[-1]["detail"]["reissued_after_revocation_at"] > 0
    assert entries[-1]["detail"]["role"] == "lead"


def test_admin_reissues_a_revoked_moderator_name_over_http(service: Service, admin: str) -> None:
    c = service.client
    h = bearer(admin)
    first = c.post("/v1/review/moderators", json={"name": "mia", "role": "moderator"}, headers=h)
    assert first.status_code == 201
    assert c.request("DELETE", "/v1/review/moderators/mia", headers=h).status_code == 200
    again = c.post("/v1/review/moderators", json={"name": "mia", "role": "lead"}, headers=h)
    assert again.status_code == 201
    assert again.json()["role"] == "lead"
    assert c.get("/v1/review/me", headers=bearer(first.json()["token"])).status_code == 401
    me = c.get("/v1/review/me", headers=bearer(again.json()["token"])).json()
    assert me["name"] == "mia"
    assert me["role"] == "lead"
    taken = c.post("/v1/review/moderators", json={"name": "mia", "role": "lead"}, headers=h)
    assert taken.status_code == 409
    reissue = audit_actions(service, admin, "moderator_add")[-1]
    assert reissue["detail"]["reissued_after_revocation_at"] == service.clock()
