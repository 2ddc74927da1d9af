"""Tampering with the audit log directly in the database (edit, delete, insert, reorder,
truncate) is found by ``frankly audit verify`` and ``GET /v1/audit/verify``, which name
the first broken position; SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from frankly.cli import main
from report_service.review.audit.chain import ChainHead, canonical_json, next_entry
from report_service.review.audit.store import AuditFilter
from report_service.review.core import Actor
from report_service.review.moderators.roles import Role
from tests.report_service.review.review_support import Env, SyncClient, auth

ENTRIES = 8  # 5 accounts from the fixture + 3 claims/views below


def _fill(env: Env) -> None:
    env.seed()
    actor = Actor("moderator-1", Role.MODERATOR)
    claim = env.service.claim(actor, "general")
    env.service.item_detail(actor, claim.item.id)
    env.service.release(actor, claim.item.id)
    assert env.service.audit_verify().entries == ENTRIES


def _shift(conn: Connection, from_seq: int, by: int) -> None:
    """Renumber entries from ``from_seq`` on (via negatives, to dodge the primary key)."""
    conn.execute(
        text("UPDATE audit_log SET seq = -(seq + :by) WHERE seq >= :s"), {"by": by, "s": from_seq}
    )
    conn.execute(text("UPDATE audit_log SET seq = -seq WHERE seq < 0"))


def _edit(conn: Connection) -> int:
    conn.execute(text("UPDATE audit_log SET detail = :d WHERE seq = 6"), {"d": '{"queue":"x"}'})
    return 6


def _edit_actor(conn: Connection) -> int:
    conn.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3"))
    return 3


def _delete(conn: Connection) -> int:
    conn.execute(text("DELETE FROM audit_log WHERE seq = 4"))
    _shift(conn, 5, -1)  # close the gap so that only the hashes can tell
    return 4


def _delete_with_gap(conn: Connection) -> int:
    conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    return 2


def _truncate(conn: Connection) -> int:
    conn.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": ENTRIES})
    return ENTRIES


def _insert(conn: Connection) -> int:
    prev = conn.execute(text("SELECT entry_hash FROM audit_log WHERE seq = 4")).scalar_one()
    forged = next_entry(
        ChainHead(4, prev), at_ms=1, actor="mallory", action="claim", item_id=1, detail={}
    )
    _shift(conn, 5, 1)
    conn.execute(
        text(
            "INSERT INTO audit_log (seq, at_ms, actor, action, item_id, detail, prev_hash,"
            " entry_hash) VALUES (:seq, :at, :actor, :action, :item, :detail, :prev, :h)"
        ),
        {
            "seq": forged.seq,
            "at": forged.at_ms,
            "actor": forged.actor,
            "action": forged.action,
            "item": forged.item_id,
            "detail": canonical_json(dict(forged.detail)).decode(),
            "prev": forged.prev_hash,
            "h": forged.entry_hash,
        },
    )
    return 6  # the forged entry is well formed; the next one no longer links


def _reorder(conn: Connection) -> int:
    conn.execute(text("UPDATE audit_log SET seq = -1 WHERE seq = 3"))
    conn.execute(text("UPDATE audit_log SET seq = 3 WHERE seq = 5"))
    conn.execute(text("UPDATE audit_log SET seq = 5 WHERE seq = -1"))
    return 3


def _append_forged(conn: Connection) -> int:
    conn.execute(
        text(
            "INSERT INTO audit_log (seq, at_ms, actor, action, item_id, detail, prev_hash,"
            " entry_hash) VALUES (:s, 1, 'x', 'x', NULL, '{}', :p, :p)"
        ),
        {"s": ENTRIES + 1, "p": "f" * 64},
    )
    return ENTRIES + 1


TAMPERS: dict[str, Callable[[Connection], int]] = {
    "edit_detail": _edit,
    "edit_actor": _edit_actor,
    "delete_and_renumber": _delete,
    "delete_leaving_gap": _delete_with_gap,
    "truncate_tail": _truncate,
    "insert": _insert,
    "reorder": _reorder,
    "append": _append_forged,
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tampering_is_found_at_its_position(
    env: Env,
    client: SyncClient,
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _fill(env)
    monkeypatch.setenv("FRANKLY_DATABASE_URL", env.url)
    assert main(["audit", "verify", "--data", str(tmp_path / "data")]) == 0
    head = capsys.readouterr().out.split()[-1]

    with env.engine.begin() as conn:
        position = TAMPERS[name](conn)

    assert main(["audit", "verify", "--data", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert f"BROKEN at position {position}:" in err
    r = client.get("/v1/audit/verify", headers=auth(env.tokens["auditor"])).json()
    assert r["ok"] is False
    assert r["first_broken"] == position
    assert r["head_hash"] == head


def test_a_rewritten_chain_is_caught_by_the_published_head(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An attacker who rewrites every hash and the head row defeats the stored head; the
    head an auditor published earlier (``--expect-head``) still catches it."""
    _fill(env)
    monkeypatch.setenv("FRANKLY_DATABASE_URL", env.url)
    data = str(tmp_path / "data")
    assert main(["audit", "verify", "--data", data]) == 0
    published = capsys.readouterr().out.split()[-1]
    auditor = Actor("auditor-1", Role.AUDITOR)
    entries = env.service.audit_page(auditor, AuditFilter(limit=1000)).entries
    head = ChainHead(0, "0" * 64)
    with env.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
        for e in entries:
            detail = dict(e.detail)
            if e.seq == 6:
                detail = {"queue": "rewritten"}
            new = next_entry(
                head,
                at_ms=e.at_ms,
                actor=e.actor,
                action=e.action,
                item_id=e.item_id,
                detail=detail,
            )
            conn.execute(
                text(
                    "INSERT INTO audit_log (seq, at_ms, actor, action, item_id, detail,"
                    " prev_hash, entry_hash) VALUES (:s, :a, :ac, :ax, :i, :d, :p, :h)"
                ),
                {
                    "s": new.seq,
                    "a": new.at_ms,
                    "ac": new.actor,
                    "ax": new.action,
                    "i": new.item_id,
                    "d": json.dumps(detail),
                    "p": new.prev_hash,
                    "h": new.entry_hash,
                },
            )
            head = ChainHead(new.seq, new.entry_hash)
        conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": head.hash})
    assert main(["audit", "verify", "--data", data]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--data", data, "--expect-head", published]) == 1
    assert "is not in the chain" in capsys.readouterr().err


def test_a_published_head_still_verifies_after_the_log_grew(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Auditors publish the head daily; the log keeps growing in between, and that is no
    alarm: the published entry must still be in the chain at its place."""
    _fill(env)
    monkeypatch.setenv("FRANKLY_DATABASE_URL", env.url)
    data = str(tmp_path / "data")
    assert main(["audit", "verify", "--data", data]) == 0
    published = capsys.readouterr().out.split()[-1]
    actor = Actor("moderator-1", Role.MODERATOR)
    claim = env.service.claim(actor, "general")
    env.service.release(actor, claim.item.id)
    assert main(["audit", "verify", "--data", data, "--expect-head", published.upper()]) == 0
    out = capsys.readouterr().out
    assert f"the published head is entry {ENTRIES}; 2 entries appended since" in out
    assert main(["audit", "verify", "--data", data, "--expect-head", "0" * 64]) == 1
    assert "is not in the chain" in capsys.readouterr().err
