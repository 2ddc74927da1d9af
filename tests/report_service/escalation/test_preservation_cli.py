"""``frankly evidence hold|holds|release`` end to end on SQLite and PostgreSQL, with
``purge`` skipping held reports (naming the hold) and ``destroy`` refusing them until the
hold is released; every change audited and the chain still verifying."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from frankly.cli import main
from report_service.escalation.preservation.service import place_preservation_hold
from report_service.review.core import Actor
from report_service.review.moderators.roles import Role
from report_service.storage.models import EvidenceKey
from tests.report_service.escalation.conftest import Cli
from tests.report_service.review.review_support import Env

LITIGATION = "litigation hold LH-2026-4 (counsel: M. Ortiz)"
POLICY = "retention policy RP-7: evidence kept 30 days after a decision"
ERASURE = "data-protection erasure request DP-2026-9"


def _decide(env: Env, item_id: int) -> None:
    actor = Actor("moderator-1", Role.MODERATOR)
    assert env.service.claim(actor, "general").item.id == item_id
    env.service.decide(actor, item_id, "no_violation", "harassment/1.2", "")


def _live(env: Env, report_id: str) -> bool:
    with env.sf() as s:
        row = s.get(EvidenceKey, report_id)
        assert row is not None
        return row.wrapped_key is not None


def _audit(cli: Cli, action: str) -> list[dict[str, Any]]:
    status, out, err = cli("audit", "show", "--action", action)
    assert status == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_holds_by_hand_purge_and_destroy_respect_them_and_release_lets_go(
    env: Env, cli: Cli
) -> None:
    old = env.seed(text="decided long ago")
    held = env.seed(sender="hal")
    pair = env.seed(sender="pat", reporters=["alice", "bob"])
    for seed in (old, held, pair):
        _decide(env, seed.item_id)
    [held_report] = held.report_ids

    # A manual hold on one report, with a reference: repeating it changes nothing.
    hold = ("evidence", "hold", held_report, "--reason", LITIGATION, "--reference", "LH-4")
    status, out, err = cli(*hold, "--days", "90", "--by", "dpo-ana")
    assert status == 0, err
    [line] = out.splitlines()
    assert line.startswith("placed hold ")
    hold_id = int(line.split()[2])
    assert f"[active] report {held_report}: manual reference LH-4, until " in line
    assert f"by dpo-ana: {LITIGATION}" in line
    status, out, _ = cli(*hold, "--days", "90")
    assert (status, out.split()[:5]) == (0, ["already", "in", "place:", "hold", str(hold_id)])

    # A hold on a review item covers each of its reports, until released.
    status, out, err = cli(
        "evidence", "hold", str(pair.item_id), "--reason", LITIGATION, "--indefinite"
    )
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert all(f" item {pair.item_id}: manual, until released;" in x for x in lines)

    status, out, err = cli("evidence", "holds")
    assert status == 0
    assert len(out.splitlines()) == 3
    assert err == "3 active holds\n"
    status, out, _ = cli("evidence", "holds", "--json", "--report", held_report)
    [shown] = json.loads(out)
    assert shown["hold_id"] == hold_id
    assert (shown["source"], shown["reference"], shown["status"], shown["placed_by"]) == (
        "manual",
        "LH-4",
        "active",
        "dpo-ana",
    )
    assert shown["expires_at"] - shown["placed_at"] == 90 * 86_400_000
    assert shown["minimum_until"] is None

    # The purge skips held reports and says which hold keeps each, until when.
    purge = ("evidence", "purge", "--decided-before-days", "30", "--reason", POLICY)
    status, out, err = cli(*purge, "--dry-run")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == f"would destroy {old.report_ids[0]}"
    kept = sorted(x for x in lines if x.startswith("kept "))
    assert len(kept) == 3
    assert f"kept {held_report}: preservation_hold {hold_id} (manual, reference LH-4) until " in (
        "\n".join(kept)
    )
    assert sum("(manual) until released" in x for x in kept) == 2
    assert lines[-1].startswith("would destroy 1; kept 3 preservation_hold, 0 legal_hold, ")
    status, out, err = cli(*purge, "--by", "retention-bot")
    assert status == 0, err
    assert "destroyed 1; kept 3 preservation_hold, 0 legal_hold, " in out
    assert not _live(env, old.report_ids[0])
    assert all(_live(env, r) for r in [held_report, *pair.report_ids])

    # Destroying a held report is refused, naming the hold; nothing is destroyed.
    status, out, err = cli("evidence", "destroy", held_report, "--reason", ERASURE)
    assert (status, out) == (2, "")
    assert err.startswith(
        f"error: the evidence of report {held_report} is under preservation hold {hold_id} "
        "(manual, reference LH-4) until "
    )
    assert f"release it first (frankly evidence release {hold_id} --reason ...)" in err
    assert _live(env, held_report)

    # Released (on the record), the report can be destroyed.
    release = ("evidence", "release", str(hold_id), "--reason", "litigation settled, LH-4 closed")
    status, out, err = cli(*release, "--by", "dpo-ana")
    assert status == 0, err
    assert out.startswith(f"released hold {hold_id} [released] report {held_report}")
    assert "released " in out
    assert "by dpo-ana: litigation settled" in out
    status, out, err = cli(*release)
    assert (status, out, err) == (2, "", f"error: hold {hold_id} was already released\n")
    status, out, err = cli("evidence", "destroy", held_report, "--reason", ERASURE)
    assert status == 0, err
    assert not _live(env, held_report)

    # The listing: active ones by default, every one with --all.
    assert len(cli("evidence", "holds")[1].splitlines()) == 2
    everything = json.loads(cli("evidence", "holds", "--all", "--json")[1])
    assert [h["status"] for h in everything] == ["released", "active", "active"]

    # Several at once: all or none (an unknown id releases nothing).
    item_holds = [str(h["hold_id"]) for h in everything[1:]]
    why = "preservation request PR-88 withdrawn"
    status, out, err = cli("evidence", "release", *item_holds, "999", "--reason", why)
    assert (status, out, err) == (2, "", "error: no preservation hold 999\n")
    assert len(cli("evidence", "holds")[1].splitlines()) == 2
    status, out, err = cli("evidence", "release", *item_holds, "--reason", why)
    assert status == 0, err
    assert [x.split()[:3] for x in out.splitlines()] == [
        ["released", "hold", i] for i in item_holds
    ]
    assert cli("evidence", "holds")[1] == ""

    holds = _audit(cli, "preservation_hold")
    assert [(e["actor"], e["detail"]["report_id"]) for e in holds] == [
        ("dpo-ana", held_report),
        *[("cli", r) for r in sorted(pair.report_ids)],
    ]
    assert all(e["detail"]["reason"] == LITIGATION for e in holds)
    assert holds[1]["item_id"] == pair.item_id
    released, *by_item = _audit(cli, "preservation_release")
    assert [e["detail"]["hold_id"] for e in by_item] == [int(i) for i in item_holds]
    assert released["actor"] == "dpo-ana"
    assert released["detail"]["hold_id"] == hold_id
    assert released["detail"]["forced"] is False
    assert cli("audit", "verify")[0] == 0


def test_an_ncmec_hold_is_released_in_its_first_year_only_by_a_forced_override(
    env: Env, cli: Cli
) -> None:
    [report_id] = env.seed().report_ids
    now = time.time_ns() // 1_000_000  # the command line's clock
    with env.sf.begin() as s:
        placed = place_preservation_hold(
            s, [report_id], "CyberTipline report filed", reference="CT-1234567", now_ms=now
        )
    [hold_id] = placed.placed
    status, out, _ = cli("evidence", "holds")
    assert ": ncmec reference CT-1234567, until " in out
    assert "; statutory minimum until " in out

    release = ("evidence", "release", str(hold_id), "--reason", "NCMEC case closed, ticket T-8")
    status, out, err = cli(*release)
    assert (status, out) == (2, "")
    assert "statutory minimum period that has not ended" in err
    assert "--force-before-expiry" in err
    status, out, err = cli("evidence", "destroy", report_id, "--reason", ERASURE)
    assert status == 2
    assert f"preservation hold {hold_id} (ncmec, reference CT-1234567)" in err

    status, out, err = cli(*release, "--force-before-expiry", "--by", "counsel-li")
    assert status == 0, err
    assert "(before its minimum period: forced)" in out
    [entry] = _audit(cli, "preservation_release")
    assert (entry["actor"], entry["detail"]["forced"], entry["detail"]["source"]) == (
        "counsel-li",
        True,
        "ncmec",
    )
    [shown] = json.loads(cli("evidence", "holds", "--all", "--json")[1])
    assert shown["release_forced"] is True
    assert cli("evidence", "destroy", report_id, "--reason", ERASURE)[0] == 0
    assert cli("audit", "verify")[0] == 0


def test_bad_hold_commands_fail_clearly_and_change_nothing(env: Env, cli: Cli) -> None:
    [report_id] = env.seed().report_ids
    for argv, message in (
        (("evidence", "hold", "no-such", "--reason", LITIGATION), "no report or review item"),
        (("evidence", "hold", report_id, "--reason", "short"), "at least 10 characters"),
        (("evidence", "hold", report_id, "--reason", LITIGATION, "--days", "0"), "1 to 36500"),
        (("evidence", "hold", report_id, "--reason", LITIGATION, "--by", "a b"), "user name"),
        (("evidence", "release", "999", "--reason", LITIGATION), "no preservation hold 999"),
    ):
        status, out, err = cli(*argv)
        assert (status, out) == (2, ""), argv
        assert err.startswith("error: "), err
        assert message in err, err
    with pytest.raises(SystemExit):
        main(["evidence", "hold", report_id, "--reason", LITIGATION, "--days", "9", "--indefinite"])
    assert _audit(cli, "preservation_hold") == []
    assert cli("evidence", "holds", "--all")[1:] == ("", "0 holds\n")
    # Nothing left to preserve: refused, and for an item only the live reports are held.
    pair = env.seed(sender="pat", reporters=["alice", "bob"])
    gone, live = pair.report_ids
    assert cli("evidence", "destroy", gone, "--reason", ERASURE)[0] == 0
    status, out, err = cli("evidence", "hold", gone, "--reason", LITIGATION)
    assert (status, out) == (2, "")
    assert err == f"error: nothing to preserve: the evidence of {gone} was already destroyed\n"
    status, out, err = cli("evidence", "hold", str(pair.item_id), "--reason", LITIGATION)
    assert status == 0, err
    assert out.startswith(f"placed hold 1 [active] report {live} item {pair.item_id}: ")
    assert err == f"note: the evidence of report {gone} was already destroyed; nothing to hold\n"
    assert cli("evidence", "release", "1", "--reason", "test over, release it")[0] == 0
    assert len(_audit(cli, "preservation_hold")) == 1  # the item's live report only
