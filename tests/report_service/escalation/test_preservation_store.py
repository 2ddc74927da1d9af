"""Preservation holds in the database (SQLite and PostgreSQL): the SQL rule the storage
layer enforces agrees with the pure one; placing is idempotent, audited in the caller's
transaction and at least a year long; held evidence is never destroyed, even by a
destruction racing the hold."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from sqlalchemy import select

from report_service.errors import ConfigError, EvidenceDestroyed, EvidenceHeld, NotFound
from report_service.escalation.preservation import policy, store
from report_service.escalation.preservation.errors import (
    InvalidInput,
    MinimumPeriodNotOver,
    NothingToHold,
)
from report_service.escalation.preservation.service import (
    HOLD_ACTION,
    RELEASE_ACTION,
    list_holds,
    place_manual_hold,
    place_preservation_hold,
    release_hold,
)
from report_service.review.audit.store import AuditFilter
from report_service.review.lifecycle.destruction import EvidenceDestroyer
from report_service.settings import load_settings
from report_service.storage.evidence import destroy_evidence
from report_service.storage.holds import active_holds
from report_service.storage.models import EvidenceKey, PreservationHold
from tests.report_service.review.review_support import Env

DAY = policy.MS_PER_DAY
REASON = "CyberTipline submission of a confirmed case"


def _audit(env: Env, action: str) -> list[dict[str, Any]]:
    page = env.service.audit_entries(AuditFilter(action=action, limit=1000))
    return [e.model_dump() for e in page.entries]


def _place(env: Env, report_ids: list[str], **kw: Any) -> Any:
    with env.sf.begin() as session:
        return place_preservation_hold(session, report_ids, REASON, now_ms=env.clock(), **kw)


def _wrapped(env: Env, report_id: str) -> bytes | None:
    with env.sf() as s:
        row = s.get(EvidenceKey, report_id)
        assert row is not None
        return row.wrapped_key


def test_the_sql_rule_agrees_with_the_pure_rule(env: Env) -> None:
    [report_id] = env.seed().report_ids
    t = 1_000_000
    times = [None, t - 1, t, t + 1]
    with env.sf.begin() as s:
        for n, (expires, released) in enumerate(itertools.product(times, times)):
            s.add(
                PreservationHold(
                    report_id=report_id,
                    source="manual",
                    reference=f"ref-{n}",
                    reason=REASON,
                    placed_by="cli",
                    placed_at=t - 10,
                    expires_at=expires,
                    released_at=released,
                )
            )
    with env.sf() as s:
        rows = list(s.scalars(select(PreservationHold)))
        holds = [store.to_hold(r) for r in rows]
        for now in range(t - 2, t + 3):
            sql = [h.id for h in active_holds(s, [report_id], now)]
            pure = [h.hold_id for h in policy.active_holds(holds, now)]
            assert sql == pure
            governing = policy.governing_hold(holds, report_id, now)
            assert (sql[0] if sql else None) == (governing.hold_id if governing else None)
        # Nothing but unreleased holds without expiry remains active far in the future.
        assert {h.expires_at for h in active_holds(s, [report_id], t + 10)} == {None}


def test_placing_is_idempotent_audited_and_at_least_a_year(env: Env) -> None:
    a = env.seed().report_ids[0]
    b = env.seed(sender="mia").report_ids[0]
    now = env.clock()
    first = _place(env, [b, a, a], reference="CT-1001")
    assert [h.report_id for h in first.holds] == sorted([a, b])
    assert first.placed == tuple(h.hold_id for h in first.holds)
    assert first.already_destroyed == ()
    for h in first.holds:
        assert (h.source, h.reference, h.placed_by, h.status.value) == (
            "ncmec",
            "CT-1001",
            "system",
            "active",
        )
        assert h.expires_at == now + 365 * DAY
        assert h.minimum_until == now + 365 * DAY
    entries = _audit(env, HOLD_ACTION)
    assert [e["detail"]["hold_id"] for e in entries] == list(first.placed)
    assert entries[0]["detail"] == {
        "hold_id": first.placed[0],
        "report_id": first.holds[0].report_id,
        "source": "ncmec",
        "reference": "CT-1001",
        "reason": REASON,
        "expires_at": now + 365 * DAY,
        "minimum_until": now + 365 * DAY,
    }
    assert entries[0]["actor"] == "system"

    # A retry (a crash after the hold, before the flow moved on) changes nothing.
    env.clock.advance(5000)
    again = _place(env, [a, b], reference="CT-1001", days=900)
    assert again.placed == ()
    assert [h.hold_id for h in again.holds] == list(first.placed)
    assert len(_audit(env, HOLD_ACTION)) == 2

    # Another reference is another hold; the longer of days and the setting wins.
    longer = _place(env, [a], reference="CT-1002", days=400, actor="lead-1")
    assert longer.holds[0].expires_at == env.clock() + 400 * DAY
    setting = _place(env, [a], reference="CT-1003", days=400, preservation_days=500)
    assert setting.holds[0].expires_at == env.clock() + 500 * DAY
    short = _place(env, [a], reference="CT-1004", days=30)
    assert short.holds[0].expires_at == env.clock() + 365 * DAY
    with env.sf() as s:
        assert len(list_holds(s, env.clock(), report_id=a)) == 4
    assert env.service.audit_verify().ok


def test_a_hold_and_its_audit_entry_commit_or_roll_back_together(env: Env) -> None:
    [report_id] = env.seed().report_ids

    def flow() -> None:
        with env.sf.begin() as session:
            place_preservation_hold(session, [report_id], REASON, now_ms=env.clock())
            raise RuntimeError("the NCMEC flow failed after placing the hold")

    with pytest.raises(RuntimeError):
        flow()
    with env.sf() as s:
        assert list_holds(s, env.clock(), include_inactive=True) == []
    assert _audit(env, HOLD_ACTION) == []


def test_a_period_below_a_year_is_refused(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    [report_id] = env.seed().report_ids
    with pytest.raises(InvalidInput, match="at least 365 days"):
        _place(env, [report_id], preservation_days=364)
    monkeypatch.setenv("FRANKLY_PRESERVATION_DAYS", "364")
    with pytest.raises(ConfigError, match="FRANKLY_PRESERVATION_DAYS must be 365 to 36500"):
        load_settings()
    monkeypatch.setenv("FRANKLY_PRESERVATION_DAYS", "730")
    assert load_settings().preservation_days == 730
    monkeypatch.delenv("FRANKLY_PRESERVATION_DAYS")
    assert load_settings().preservation_days == 365


def test_bad_inputs_change_nothing(env: Env) -> None:
    [report_id] = env.seed().report_ids
    for kwargs, error in (
        ({"report_ids": ["nope"]}, NotFound),
        ({"report_ids": []}, InvalidInput),
        ({"reason": "short"}, InvalidInput),
        ({"source": "NCMEC!"}, InvalidInput),
        ({"reference": "a\nb"}, InvalidInput),
        ({"days": 0}, InvalidInput),
    ):
        args: dict[str, Any] = {"report_ids": [report_id], "reason": REASON, **kwargs}
        with pytest.raises(error), env.sf.begin() as session:
            place_preservation_hold(
                session,
                args.pop("report_ids"),
                args.pop("reason"),
                now_ms=env.clock(),
                **args,
            )
    with env.sf() as s, pytest.raises(NotFound, match="no report or review item"):
        place_manual_hold(s, "424242", REASON, days=None, actor="cli", now_ms=env.clock())
    assert _audit(env, HOLD_ACTION) == []


def test_held_evidence_is_never_destroyed_until_released_or_expired(env: Env) -> None:
    seed = env.seed(reporters=["alice", "bob"])
    a, b = seed.report_ids
    destroyer = EvidenceDestroyer(env.sf, env.clock)
    with env.sf.begin() as s:
        manual = place_manual_hold(
            s,
            str(seed.item_id),
            "litigation hold LH-9",
            days=10,
            actor="dpo-ana",
            now_ms=env.clock(),
        )
    assert sorted(h.report_id for h in manual.holds) == sorted([a, b])
    assert {h.item_id for h in manual.holds} == {seed.item_id}
    ncmec = _place(env, [a], reference="CT-77")
    [ncmec_hold] = ncmec.holds

    with pytest.raises(EvidenceHeld) as caught:
        destroyer.destroy(a, actor="dpo-ana", reason="erasure request DP-1")
    # The longest-lasting hold is named, with the way out.
    assert caught.value.hold_id == ncmec_hold.hold_id
    assert caught.value.expires_at == ncmec_hold.expires_at
    assert "reference CT-77" in str(caught.value)
    assert f"frankly evidence release {ncmec_hold.hold_id}" in str(caught.value)
    with env.sf() as s, pytest.raises(EvidenceHeld):
        destroy_evidence(s, b, env.clock())
    assert _wrapped(env, a) is not None
    assert _wrapped(env, b) is not None
    assert _audit(env, "evidence_destroy") == []

    # The manual hold expires after 10 days: b can go, a is still under NCMEC's year.
    env.clock.advance(10 * DAY)
    destroyer.destroy(b, actor="dpo-ana", reason="erasure request DP-1")
    assert _wrapped(env, b) is None
    with pytest.raises(EvidenceHeld):
        destroyer.destroy(a, actor="dpo-ana", reason="erasure request DP-1")
    with env.sf.begin() as s, pytest.raises(MinimumPeriodNotOver):
        release_hold(
            s, ncmec_hold.hold_id, "case closed by counsel", actor="lead-1", now_ms=env.clock()
        )
    with env.sf.begin() as s:
        released = release_hold(
            s,
            ncmec_hold.hold_id,
            "counsel: NCMEC withdrew the request, ticket L-4",
            actor="lead-1",
            now_ms=env.clock(),
            force_before_expiry=True,
        )
    assert (released.status.value, released.release_forced, released.released_by) == (
        "released",
        True,
        "lead-1",
    )
    [entry] = _audit(env, RELEASE_ACTION)
    assert entry["detail"]["forced"] is True
    assert entry["detail"]["was"] == "active"
    destroyer.destroy(a, actor="dpo-ana", reason="erasure request DP-1")
    assert _wrapped(env, a) is None
    # Nothing is left to hold now.
    with pytest.raises(NothingToHold):
        _place(env, [a, b], reference="CT-78")
    assert env.service.audit_verify().ok


def test_a_hold_on_partly_destroyed_evidence_holds_what_is_left(env: Env) -> None:
    a = env.seed().report_ids[0]
    b = env.seed(sender="mia").report_ids[0]
    EvidenceDestroyer(env.sf, env.clock).destroy(a, actor="cli", reason="erasure request DP-1")
    done = _place(env, [a, b], reference="CT-5")
    assert [h.report_id for h in done.holds] == [b]
    assert done.already_destroyed == (a,)


def _race(env: Env, report_id: str) -> list[str]:
    """Place a hold and destroy the evidence of ``report_id`` at the same moment."""
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def hold() -> None:
        barrier.wait()
        try:
            _place(env, [report_id], reference="CT-race")
            outcomes.append("held")
        except NothingToHold:
            outcomes.append("nothing to hold")

    def destroy() -> None:
        barrier.wait()
        try:
            EvidenceDestroyer(env.sf, env.clock).destroy(
                report_id, actor="cli", reason="erasure request DP-1"
            )
            outcomes.append("destroyed")
        except (EvidenceHeld, EvidenceDestroyed):
            outcomes.append("refused")

    threads = [threading.Thread(target=hold), threading.Thread(target=destroy)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_a_hold_racing_a_destruction_never_loses_to_it(env: Env) -> None:
    for _ in range(4):
        [report_id] = env.seed().report_ids
        outcomes = _race(env, report_id)
        assert sorted(outcomes) in (["held", "refused"], ["destroyed", "nothing to hold"])
        held = "held" in outcomes
        assert (_wrapped(env, report_id) is not None) is held
    assert env.service.audit_verify().ok
