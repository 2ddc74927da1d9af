"""``frankly ncmec demo`` (``make demo-escalation``) end to end: the app, the CyberTipline
stand-in and a verifying webhook receiver on loopback ports, SQLite in a temporary
folder; and it fails loudly when a step does not happen."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from frankly.cli import main


def test_the_escalation_demo_takes_a_case_the_whole_way_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["ncmec", "demo"]) == 0
    out = capsys.readouterr().out
    flat = " ".join(out.split())  # rich wraps long lines
    assert "demo complete" in flat
    assert "problem" not in flat
    assert "the stand-in received 0 request(s) so far" in flat
    assert "1 file(s) uploaded" in flat
    filed = re.search(r"filed: NCMEC report (\d+)", flat)
    assert filed is not None
    assert re.search(
        rf"source ncmec, reference {filed.group(1)} \(NCMEC's report id\), active, 365 days", flat
    )
    statement = json.loads(out[out.index("{") : out.index("}\n") + 1])
    assert statement["category"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    assert statement["puid"].startswith("frankly-sor-")
    assert "child safety (policy csam)" in flat  # the reporter's notice
    events = flat[flat.index("verified 4 signed event(s)") :]
    for event in ("report.created", "item.claimed", "item.decided", "ncmec.submitted"):
        assert event in events


def test_the_demo_exits_non_zero_when_no_hold_is_placed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from report_service.escalation.ncmec import wiring

    real = wiring.hooks

    def without_holds(settings: Any, clock: Any) -> Any:
        events, _preserve = real(settings, clock)
        return events, lambda *args: None

    monkeypatch.setattr(wiring, "hooks", without_holds)
    assert main(["ncmec", "demo"]) == 1
    flat = " ".join(capsys.readouterr().out.split())
    assert "problem: expected one ncmec hold" in flat
    assert "demo finished with problems" in flat
