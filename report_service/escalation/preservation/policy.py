"""Preservation holds: the pure rules (frozen values and the clock in, answers out).

Legal basis. 18 U.S.C. 2258A(h), as amended by the REPORT Act (Pub. L. 118-59, 2024),
treats a provider's report to NCMEC's CyberTipline as a request to preserve its contents
for one year after the submission, and lets the provider keep them longer, voluntarily,
to reduce the proliferation of online child sexual exploitation or prevent the online
sexual exploitation of children. So:

- A hold placed by an escalation (``source`` other than ``manual``, e.g. ``ncmec``) lasts
  ``max(days, setting)`` days, never fewer than :data:`STATUTORY_MINIMUM_DAYS`; the
  setting ``FRANKLY_PRESERVATION_DAYS`` raises the floor, never lowers it.
- A source with a statutory minimum (:data:`MINIMUM_PERIOD_DAYS`: ``ncmec``) records the
  end of that minimum on the hold; releasing the hold before then needs an explicit
  override (:func:`check_release`), because an early release is a decision that the legal
  duty no longer applies, which a person must take and the audit log must show.
- A manual hold (``frankly evidence hold``: a litigation hold, a law-enforcement
  preservation request) lasts the days asked for, or until released.

A report is held while *any* hold on it is active: not released and not expired
(``expires_at`` is the first millisecond the hold no longer holds). Several holds may
overlap; the one that lasts longest (an indefinite one first) is the one named when a
purge or a destruction is refused.

This is not legal advice: the rules implement one reading of the statute; counsel decides
what a given provider owes.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from report_service.escalation.preservation.errors import (
    HoldAlreadyReleased,
    InvalidInput,
    MinimumPeriodNotOver,
)

MS_PER_DAY = 86_400_000
STATUTORY_MINIMUM_DAYS = 365
"""The REPORT Act's one year (18 U.S.C. 2258A(h)(1)), in days."""
MAX_DAYS = 36_500
MANUAL = "manual"
NCMEC = "ncmec"
MINIMUM_PERIOD_DAYS: dict[str, int] = {NCMEC: STATUTORY_MINIMUM_DAYS}
"""Sources whose holds carry a statutory minimum period, and its length in days."""

_SOURCE = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_REFERENCE_CHARS = 128


class HoldStatus(enum.StrEnum):
    """Where a hold stands at a given time."""

    ACTIVE = "active"
    EXPIRED = "expired"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class Hold:
    """What the rules need to know about one hold (all times in ms since the epoch)."""

    hold_id: int
    report_id: str
    source: str
    placed_at: int
    expires_at: int | None
    minimum_until: int | None = None
    released_at: int | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class HoldTerms:
    """How long a new hold lasts: ``expires_at`` (``None`` = until released) and the end
    of its statutory minimum period (``None`` = none)."""

    expires_at: int | None
    minimum_until: int | None


def status(hold: Hold, now_ms: int) -> HoldStatus:
    """Released (whatever the time), else expired from ``expires_at`` on, else active."""
    if hold.released_at is not None:
        return HoldStatus.RELEASED
    if hold.expires_at is not None and now_ms >= hold.expires_at:
        return HoldStatus.EXPIRED
    return HoldStatus.ACTIVE


def is_active(hold: Hold, now_ms: int) -> bool:
    """Whether ``hold`` keeps its report's evidence at ``now_ms``."""
    return status(hold, now_ms) is HoldStatus.ACTIVE


def _lasting(hold: Hold) -> tuple[int, int, int]:
    # Sort key: indefinite first, then the latest expiry, then the oldest hold.
    if hold.expires_at is None:
        return (0, 0, hold.hold_id)
    return (1, -hold.expires_at, hold.hold_id)


def active_holds(holds: Iterable[Hold], now_ms: int) -> tuple[Hold, ...]:
    """The active holds among ``holds``, the longest-lasting first."""
    return tuple(sorted((h for h in holds if is_active(h, now_ms)), key=_lasting))


def governing_hold(holds: Iterable[Hold], report_id: str, now_ms: int) -> Hold | None:
    """The longest-lasting active hold on ``report_id``, or ``None`` when it is not held."""
    found = active_holds((h for h in holds if h.report_id == report_id), now_ms)
    return found[0] if found else None


def is_held(holds: Iterable[Hold], report_id: str, now_ms: int) -> bool:
    """Whether any active hold keeps ``report_id``'s evidence at ``now_ms``."""
    return governing_hold(holds, report_id, now_ms) is not None


def check_preservation_days(days: int) -> int:
    """Validate the ``FRANKLY_PRESERVATION_DAYS`` setting; returns it.

    Raises:
        InvalidInput: below :data:`STATUTORY_MINIMUM_DAYS` or above :data:`MAX_DAYS`.
    """
    if days < STATUTORY_MINIMUM_DAYS:
        raise InvalidInput(
            f"the preservation period must be at least {STATUTORY_MINIMUM_DAYS} days "
            f"(the REPORT Act's one year), not {days}"
        )
    if days > MAX_DAYS:
        raise InvalidInput(f"the preservation period must be at most {MAX_DAYS} days")
    return days


def check_source(source: str) -> str:
    """Validate a hold source: 1 to 32 lowercase letters, digits and ``_``.

    Raises:
        InvalidInput: anything else.
    """
    if not _SOURCE.fullmatch(source):
        raise InvalidInput("a hold source is 1 to 32 lowercase letters, digits or '_'")
    return source


def check_reference(reference: str | None) -> str | None:
    """Validate an outside reference: ``None``, or 1 to 128 characters without control
    characters (taken as given: no stripping, so that what the caller sent is the key).

    Raises:
        InvalidInput: empty, too long, or holding control characters.
    """
    if reference is None:
        return None
    text = reference
    if not text or len(text) > MAX_REFERENCE_CHARS:
        raise InvalidInput(f"a hold reference is 1 to {MAX_REFERENCE_CHARS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInput("a hold reference must not contain control characters")
    return text


def escalation_terms(
    now_ms: int, *, source: str, days: int | None, preservation_days: int
) -> HoldTerms:
    """The terms of a hold placed by an escalation (e.g. an NCMEC submission):
    ``max(days, preservation_days)`` days from ``now_ms``, and the source's statutory
    minimum period when it has one.

    Raises:
        InvalidInput: ``preservation_days`` below the statutory minimum (or above
            :data:`MAX_DAYS`), ``days`` outside 1..:data:`MAX_DAYS`, or ``source`` is
            ``manual`` (manual holds use :func:`manual_terms`).
    """
    check_preservation_days(preservation_days)
    if check_source(source) == MANUAL:
        raise InvalidInput("a manual hold is placed with frankly evidence hold")
    if days is not None and not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"a hold lasts 1 to {MAX_DAYS} days")
    total = max(days or 0, preservation_days)
    minimum = MINIMUM_PERIOD_DAYS.get(source)
    return HoldTerms(
        expires_at=now_ms + total * MS_PER_DAY,
        minimum_until=None if minimum is None else now_ms + minimum * MS_PER_DAY,
    )


def manual_terms(now_ms: int, *, days: int | None) -> HoldTerms:
    """The terms of a manual hold: ``days`` days (``None``: until released); no minimum
    period.

    Raises:
        InvalidInput: ``days`` outside 1..:data:`MAX_DAYS`.
    """
    if days is None:
        return HoldTerms(expires_at=None, minimum_until=None)
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"a hold lasts 1 to {MAX_DAYS} days")
    return HoldTerms(expires_at=now_ms + days * MS_PER_DAY, minimum_until=None)


@dataclass(frozen=True, slots=True)
class Release:
    """The verdict on a release request: allowed, and whether it used the override."""

    forced: bool


def check_release(hold: Hold, now_ms: int, *, force: bool) -> Release:
    """Whether ``hold`` may be released at ``now_ms``.

    An expired hold may be released (it records that the matter is closed); a hold whose
    statutory minimum period has not ended may be released only with ``force``, and the
    result says so (the audit entry then records the override).

    Raises:
        HoldAlreadyReleased: it was released before.
        MinimumPeriodNotOver: its minimum period runs until after ``now_ms`` and ``force``
            is not given.
    """
    if hold.released_at is not None:
        raise HoldAlreadyReleased(f"hold {hold.hold_id} was already released")
    if hold.minimum_until is None or now_ms >= hold.minimum_until:
        return Release(forced=False)
    if not force:
        until = datetime.fromtimestamp(hold.minimum_until / 1000, UTC)
        raise MinimumPeriodNotOver(
            f"hold {hold.hold_id} ({hold.source}) keeps its evidence for a statutory "
            f"minimum period that has not ended (until {until:%Y-%m-%dT%H:%M:%SZ}); "
            "releasing it earlier needs --force-before-expiry and a reason saying why the "
            "duty no longer applies"
        )
    return Release(forced=True)
