"""Admins revoking each other at the same moment never leave the service without an admin
(threads with their own connections, SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from report_service.review.errors import LastAdmin
from report_service.review.models import Moderator
from tests.report_service.review.review_support import Env


def active_admins(env: Env) -> list[str]:
    with env.sf() as session:
        return sorted(
            m.name
            for m in session.query(Moderator).filter(Moderator.role == "admin")
            if m.revoked_at is None
        )


def revoke_all_at_once(env: Env, names: list[str]) -> tuple[int, int]:
    """Each admin revokes the next one (cyclically), all at once; (succeeded, refused)."""
    barrier = threading.Barrier(len(names))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            env.service.revoke_moderator(names[i], names[(i + 1) % len(names)])
            result = "ok"
        except LastAdmin:
            result = "last_admin"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(outcomes) == len(names)
    return outcomes.count("ok"), outcomes.count("last_admin")


def test_two_admins_revoking_each_other_leave_one(env: Env) -> None:
    env.service.revoke_moderator("cli", "admin-1", force=True)
    for round_ in range(4):
        names = [f"a{round_}-x", f"a{round_}-y"]
        for n in names:
            env.service.add_moderator("cli", n, "admin")
        assert revoke_all_at_once(env, names) == (1, 1)
        [left] = active_admins(env)
        env.service.revoke_moderator("cli", left, force=True)
    assert env.service.audit_verify().ok


def test_many_admins_revoking_in_a_ring_leave_at_least_one(env: Env) -> None:
    names = ["admin-1", *(f"adm-{i}" for i in range(5))]
    for n in names[1:]:
        env.service.add_moderator("cli", n, "admin")
    ok, refused = revoke_all_at_once(env, names)
    assert active_admins(env)
    assert ok == len(names) - len(active_admins(env))
    assert ok + refused == len(names)
