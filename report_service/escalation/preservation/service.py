"""Placing, releasing and listing preservation holds, each change audited in the same
transaction (``preservation_hold``, ``preservation_release``).

Every function works in the caller's session and transaction and never commits: the
NCMEC flow places its hold in the transaction that records the submission, the command
line in one of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from report_service import tokens
from report_service.escalation.preservation import policy, store
from report_service.escalation.preservation.errors import InvalidInput, NothingToHold
from report_service.escalation.preservation.policy import HoldStatus, HoldTerms
from report_service.review.audit import store as audit_store
from report_service.review.core import Actor
from report_service.review.decisions import taxonomy
from report_service.review.errors import Forbidden
from report_service.review.moderators.roles import Permission, allows
from report_service.storage.models import PreservationHold

HOLD_ACTION = "preservation_hold"
RELEASE_ACTION = "preservation_release"
MAX_REPORTS = 1000


@dataclass(frozen=True, slots=True)
class HoldView:
    """One hold as shown to an operator (times in ms since the epoch)."""

    hold_id: int
    report_id: str
    item_id: int | None
    source: str
    reference: str | None
    reason: str
    placed_by: str
    placed_at: int
    expires_at: int | None
    minimum_until: int | None
    released_at: int | None
    released_by: str | None
    release_reason: str | None
    release_forced: bool | None
    status: HoldStatus

    def to_json(self) -> dict[str, Any]:
        """A JSON object with every field (``status`` as its string)."""
        return {
            "hold_id": self.hold_id,
            "report_id": self.report_id,
            "item_id": self.item_id,
            "source": self.source,
            "reference": self.reference,
            "reason": self.reason,
            "placed_by": self.placed_by,
            "placed_at": self.placed_at,
            "expires_at": self.expires_at,
            "minimum_until": self.minimum_until,
            "released_at": self.released_at,
            "released_by": self.released_by,
            "release_reason": self.release_reason,
            "release_forced": self.release_forced,
            "status": self.status.value,
        }


@dataclass(frozen=True, slots=True)
class HoldPlacement:
    """What a placement did: ``holds`` are the holds now covering the requested reports
    (new or, for a repeated ``(report, source, reference)``, the earlier one), ``placed``
    the ids created by this call, ``already_destroyed`` the reports whose evidence was gone
    (nothing left to preserve; no hold placed on them)."""

    holds: tuple[HoldView, ...]
    placed: tuple[int, ...]
    already_destroyed: tuple[str, ...]


def view(row: PreservationHold, now_ms: int) -> HoldView:
    """The operator's view of a row at ``now_ms``."""
    return HoldView(
        hold_id=row.id,
        report_id=row.report_id,
        item_id=row.item_id,
        source=row.source,
        reference=row.reference,
        reason=row.reason,
        placed_by=row.placed_by,
        placed_at=row.placed_at,
        expires_at=row.expires_at,
        minimum_until=row.minimum_until,
        released_at=row.released_at,
        released_by=row.released_by,
        release_reason=row.release_reason,
        release_forced=row.release_forced,
        status=policy.status(store.to_hold(row), now_ms),
    )


def place_preservation_hold(
    session: Session,
    report_ids: list[str],
    reason: str,
    *,
    source: str = policy.NCMEC,
    reference: str | None = None,
    days: int | None = None,
    actor: str = "system",
    now_ms: int,
    preservation_days: int = policy.STATUTORY_MINIMUM_DAYS,
) -> HoldPlacement:
    """Place a preservation hold on each report's evidence for an escalation (an NCMEC
    CyberTipline submission): ``max(days, preservation_days)`` days, never fewer than 365,
    with the source's statutory minimum period (:mod:`.policy`). Pass the service's
    ``settings.preservation_days`` (``FRANKLY_PRESERVATION_DAYS``) as
    ``preservation_days``.

    Idempotent for the same ``(report, source, reference)`` when ``reference`` is given (a
    retry returns the earlier hold, released or not, and writes nothing); pass the
    CyberTipline report id, or your own submission id before NCMEC's is known. Without a
    reference every call adds a hold. Runs in the caller's transaction; each new hold
    gets one ``preservation_hold`` audit entry in it.

    Raises:
        NotFound: a report does not exist.
        InvalidInput: no reports (or more than 1000), a bad reason (10 to 1000
            characters), source, reference or period.
        InvalidRequest: ``actor`` is not a valid name.
        NothingToHold: every report's evidence was already destroyed.
    """
    terms = policy.escalation_terms(
        now_ms, source=source, days=days, preservation_days=preservation_days
    )
    return _place(session, report_ids, None, source, reference, terms, reason, actor, now_ms)


def place_manual_hold(
    session: Session,
    target: str,
    reason: str,
    *,
    days: int | None,
    reference: str | None = None,
    actor: str,
    now_ms: int,
    item: bool | None = None,
) -> HoldPlacement:
    """A manual hold (``source`` ``manual``) on a report, or on every report of a review
    item when ``target`` is an item id (``item`` true or false: only that kind): ``days``
    days, or until released when ``None``. Audited. Idempotent like
    :func:`place_preservation_hold` when ``reference`` is given.

    Raises:
        NotFound: ``target`` is neither a report nor a review item with reports.
        InvalidInput, InvalidRequest, NothingToHold: as :func:`place_preservation_hold`.
    """
    terms = policy.manual_terms(now_ms, days=days)
    report_ids, item_id = store.resolve_target(session, target, item=item)
    return _place(
        session, report_ids, item_id, policy.MANUAL, reference, terms, reason, actor, now_ms
    )


def _place(
    session: Session,
    report_ids: Sequence[str],
    item_id: int | None,
    source: str,
    reference: str | None,
    terms: HoldTerms,
    reason: str,
    actor: str,
    now_ms: int,
) -> HoldPlacement:
    who = tokens.check_user_name(actor)
    why = taxonomy.check_reason(reason)
    source = policy.check_source(source)
    reference = policy.check_reference(reference)
    ids = sorted(set(report_ids))
    if not ids or len(ids) > MAX_REPORTS:
        raise InvalidInput(f"a hold covers 1 to {MAX_REPORTS} reports")
    keys = store.lock_evidence_keys(session, ids)
    holds: list[PreservationHold] = []
    placed: list[int] = []
    destroyed: list[str] = []
    for report_id in ids:
        existing = (
            None if reference is None else store.find_hold(session, report_id, source, reference)
        )
        if existing is not None:
            holds.append(existing)
            continue
        if keys[report_id].wrapped_key is None:
            destroyed.append(report_id)
            continue
        row = PreservationHold(
            report_id=report_id,
            item_id=item_id,
            source=source,
            reference=reference,
            reason=why,
            placed_by=who,
            placed_at=now_ms,
            expires_at=terms.expires_at,
            minimum_until=terms.minimum_until,
        )
        session.add(row)
        session.flush()
        audit_store.append_audit(
            session,
            at_ms=now_ms,
            actor=who,
            action=HOLD_ACTION,
            item_id=item_id if item_id is not None else store.first_item_of(session, report_id),
            detail={
                "hold_id": row.id,
                "report_id": report_id,
                "source": source,
                "reference": reference,
                "reason": why,
                "expires_at": terms.expires_at,
                "minimum_until": terms.minimum_until,
            },
        )
        holds.append(row)
        placed.append(row.id)
    if not holds:
        raise NothingToHold(
            "nothing to preserve: the evidence of "
            + ", ".join(destroyed)
            + " was already destroyed"
        )
    return HoldPlacement(tuple(view(h, now_ms) for h in holds), tuple(placed), tuple(destroyed))


def release_hold(
    session: Session,
    hold_id: int,
    reason: str,
    *,
    actor: str,
    now_ms: int,
    force_before_expiry: bool = False,
) -> HoldView:
    """Release a hold (the row stays, with who, when and why). Audited
    (``preservation_release``, with ``forced`` true when the statutory minimum period was
    overridden).

    Raises:
        NotFound: no such hold.
        HoldAlreadyReleased: it was released before.
        MinimumPeriodNotOver: its statutory minimum period has not ended and
            ``force_before_expiry`` is not given.
        InvalidInput, InvalidRequest: a bad reason or actor.
    """
    who = tokens.check_user_name(actor)
    why = taxonomy.check_reason(reason)
    row = store.get_hold(session, hold_id, lock=True)
    verdict = policy.check_release(store.to_hold(row), now_ms, force=force_before_expiry)
    was = policy.status(store.to_hold(row), now_ms)
    row.released_at = now_ms
    row.released_by = who
    row.release_reason = why
    row.release_forced = verdict.forced
    session.flush()
    audit_store.append_audit(
        session,
        at_ms=now_ms,
        actor=who,
        action=RELEASE_ACTION,
        item_id=row.item_id
        if row.item_id is not None
        else store.first_item_of(session, row.report_id),
        detail={
            "hold_id": row.id,
            "report_id": row.report_id,
            "source": row.source,
            "reference": row.reference,
            "reason": why,
            "forced": verdict.forced,
            "was": was.value,
        },
    )
    return view(row, now_ms)


def list_holds(
    session: Session, now_ms: int, *, include_inactive: bool = False, report_id: str | None = None
) -> list[HoldView]:
    """Active holds (every hold with ``include_inactive``), optionally of one report."""
    rows = store.list_holds(session, now_ms, include_inactive=include_inactive, report_id=report_id)
    return [view(r, now_ms) for r in rows]


class HoldService:
    """Holds over HTTP for leads and admins: one transaction per call; ``clock`` returns
    ms since the epoch; ``preservation_days`` is ``FRANKLY_PRESERVATION_DAYS``."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], int],
        preservation_days: int,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._days = preservation_days

    def holds(
        self, actor: Actor, *, include_inactive: bool, report_id: str | None
    ) -> list[HoldView]:
        """:func:`list_holds`.

        Raises:
            Forbidden: the role may not manage holds.
        """
        _need_preserve(actor)
        with self._sessions() as session:
            return list_holds(
                session, self._clock(), include_inactive=include_inactive, report_id=report_id
            )

    def place(
        self,
        actor: Actor,
        target: str,
        reason: str,
        *,
        item: bool,
        days: int | None,
        indefinite: bool,
        reference: str | None,
    ) -> HoldPlacement:
        """:func:`place_manual_hold` on a report or (``item``) a review item; neither
        ``days`` nor ``indefinite`` means ``FRANKLY_PRESERVATION_DAYS`` days.

        Raises:
            Forbidden: the role may not manage holds. NotFound, InvalidInput,
            NothingToHold: as :func:`place_manual_hold`.
        """
        _need_preserve(actor)
        length = None if indefinite else (self._days if days is None else days)
        with self._sessions.begin() as session:
            return place_manual_hold(
                session,
                target,
                reason,
                days=length,
                reference=reference,
                actor=actor.name,
                now_ms=self._clock(),
                item=item,
            )

    def release(self, actor: Actor, hold_id: int, reason: str, *, force: bool) -> HoldView:
        """:func:`release_hold`.

        Raises:
            Forbidden: the role may not manage holds. NotFound, HoldAlreadyReleased,
            MinimumPeriodNotOver, InvalidInput: as :func:`release_hold`.
        """
        _need_preserve(actor)
        with self._sessions.begin() as session:
            return release_hold(
                session,
                hold_id,
                reason,
                actor=actor.name,
                now_ms=self._clock(),
                force_before_expiry=force,
            )


def _need_preserve(actor: Actor) -> None:
    if not allows(actor.role, Permission.PRESERVE):
        raise Forbidden(f"the {actor.role.value} role may not manage preservation holds")
