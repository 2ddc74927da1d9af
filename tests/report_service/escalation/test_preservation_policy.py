"""The pure rules of preservation holds: a report is held iff any hold on it is active;
expiry is exclusive; escalation holds last at least 365 days; statutory holds refuse an
early release without the override."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from report_service.escalation.preservation.errors import (
    HoldAlreadyReleased,
    InvalidInput,
    MinimumPeriodNotOver,
)
from report_service.escalation.preservation.policy import (
    MAX_DAYS,
    MS_PER_DAY,
    STATUTORY_MINIMUM_DAYS,
    Hold,
    HoldStatus,
    active_holds,
    check_preservation_days,
    check_reference,
    check_release,
    check_source,
    escalation_terms,
    governing_hold,
    is_active,
    is_held,
    manual_terms,
    status,
)
from report_service.settings import MIN_PRESERVATION_DAYS

NOW = 1_800_000_000_000
TIMES = st.integers(NOW - 5, NOW + 5)

HOLDS = st.builds(
    Hold,
    hold_id=st.integers(1, 50),
    report_id=st.sampled_from(["r1", "r2"]),
    source=st.sampled_from(["manual", "ncmec"]),
    placed_at=st.integers(NOW - 10, NOW),
    expires_at=st.none() | TIMES,
    minimum_until=st.none() | TIMES,
    released_at=st.none() | TIMES,
)


@given(st.lists(HOLDS, max_size=6), TIMES)
def test_a_report_is_held_iff_some_hold_on_it_is_unreleased_and_unexpired(
    holds: list[Hold], now: int
) -> None:
    for report_id in ("r1", "r2"):
        expected = any(
            h.report_id == report_id
            and h.released_at is None
            and (h.expires_at is None or now < h.expires_at)
            for h in holds
        )
        assert is_held(holds, report_id, now) is expected
        governing = governing_hold(holds, report_id, now)
        assert (governing is not None) is expected
        if governing is not None:
            # The one named lasts at least as long as every other active hold on the report.
            for other in active_holds([h for h in holds if h.report_id == report_id], now):
                if governing.expires_at is not None:
                    assert other.expires_at is not None
                    assert other.expires_at <= governing.expires_at


@given(HOLDS, TIMES)
def test_status_is_released_then_expired_then_active(hold: Hold, now: int) -> None:
    s = status(hold, now)
    if hold.released_at is not None:
        assert s is HoldStatus.RELEASED
    elif hold.expires_at is not None and now >= hold.expires_at:
        assert s is HoldStatus.EXPIRED
    else:
        assert s is HoldStatus.ACTIVE
    assert is_active(hold, now) is (s is HoldStatus.ACTIVE)


def test_expiry_is_the_first_millisecond_not_held() -> None:
    hold = Hold(1, "r", "manual", placed_at=0, expires_at=1000)
    assert is_active(hold, 999)
    assert not is_active(hold, 1000)
    assert status(hold, 1000) is HoldStatus.EXPIRED
    forever = Hold(2, "r", "manual", placed_at=0, expires_at=None)
    assert is_active(forever, 10**15)
    assert [h.hold_id for h in active_holds([hold, forever], 999)] == [2, 1]


@given(
    st.none() | st.integers(1, MAX_DAYS),
    st.integers(STATUTORY_MINIMUM_DAYS, MAX_DAYS),
)
def test_an_ncmec_hold_lasts_the_longer_of_days_and_the_setting_and_at_least_a_year(
    days: int | None, setting: int
) -> None:
    terms = escalation_terms(NOW, source="ncmec", days=days, preservation_days=setting)
    assert terms.expires_at == NOW + max(days or 0, setting) * MS_PER_DAY
    assert terms.expires_at >= NOW + 365 * MS_PER_DAY
    assert terms.minimum_until == NOW + 365 * MS_PER_DAY


def test_other_escalation_sources_have_no_statutory_minimum() -> None:
    terms = escalation_terms(NOW, source="law_enforcement", days=None, preservation_days=400)
    assert (terms.expires_at, terms.minimum_until) == (NOW + 400 * MS_PER_DAY, None)


@pytest.mark.parametrize("setting", [0, 1, 90, 364, MAX_DAYS + 1])
def test_a_preservation_period_below_a_year_is_refused(setting: int) -> None:
    with pytest.raises(InvalidInput, match="preservation period"):
        check_preservation_days(setting)
    with pytest.raises(InvalidInput):
        escalation_terms(NOW, source="ncmec", days=None, preservation_days=setting)


def test_bad_escalation_inputs_are_refused() -> None:
    with pytest.raises(InvalidInput, match="manual"):
        escalation_terms(NOW, source="manual", days=None, preservation_days=365)
    for days in (0, -1, MAX_DAYS + 1):
        with pytest.raises(InvalidInput, match="1 to"):
            escalation_terms(NOW, source="ncmec", days=days, preservation_days=365)
        with pytest.raises(InvalidInput, match="1 to"):
            manual_terms(NOW, days=days)
    for source in ("", "NCMEC", "n cmec", "x" * 33, "1abc"):
        with pytest.raises(InvalidInput, match="source"):
            check_source(source)
    for reference in ("", "x" * 129, "a\nb", "a\x00b", "\tx"):
        with pytest.raises(InvalidInput, match="reference"):
            check_reference(reference)
    assert check_reference("CT-123") == "CT-123"
    assert check_reference(None) is None


def test_manual_holds_last_the_days_asked_or_until_released() -> None:
    assert manual_terms(NOW, days=30).expires_at == NOW + 30 * MS_PER_DAY
    assert manual_terms(NOW, days=30).minimum_until is None
    assert manual_terms(NOW, days=None).expires_at is None


def test_a_statutory_hold_is_released_early_only_with_the_override() -> None:
    hold = Hold(
        7,
        "r",
        "ncmec",
        placed_at=NOW,
        expires_at=NOW + 400 * MS_PER_DAY,
        minimum_until=NOW + 365 * MS_PER_DAY,
    )
    with pytest.raises(MinimumPeriodNotOver, match="--force-before-expiry"):
        check_release(hold, NOW + 365 * MS_PER_DAY - 1, force=False)
    assert check_release(hold, NOW + 365 * MS_PER_DAY - 1, force=True).forced is True
    # From the end of the minimum period on, a release needs no override (and is not forced).
    assert check_release(hold, NOW + 365 * MS_PER_DAY, force=False).forced is False
    assert check_release(hold, NOW + 365 * MS_PER_DAY, force=True).forced is False
    manual = Hold(8, "r", "manual", placed_at=NOW, expires_at=None)
    assert check_release(manual, NOW, force=False).forced is False
    released = Hold(9, "r", "manual", placed_at=NOW, expires_at=None, released_at=NOW)
    with pytest.raises(HoldAlreadyReleased):
        check_release(released, NOW + 1, force=True)


def test_the_settings_floor_is_the_statutory_minimum() -> None:
    assert MIN_PRESERVATION_DAYS == STATUTORY_MINIMUM_DAYS == 365
