"""Destroying a report's evidence (crypto-shredding): on request, or by retention policy.

Destroying deletes the report's wrapped data key (:mod:`report_service.evidence`): the
encrypted blobs may stay, but no one, the operator included, can open them again. The
verified facts stay (message metadata and commitments, service-computed media hashes,
bank matches, review items and decisions), so the item view, the reporter's status and
the audit trail still make sense.

Every destruction appends one ``evidence_destroy`` entry to the audit chain **in the same
transaction** as the key deletion: who (``actor``), why (``reason``), the basis
(``request`` or ``retention`` with its period and cutoff), the report and the items it is
about. Never content, never key material.

Preservation holds (:mod:`report_service.escalation.preservation`) are enforced where the
key is deleted (:func:`report_service.storage.evidence.shred_data_key` refuses with
``EvidenceHeld``), so neither a request nor a purge passes one; a purge also reads them
first, to report each held report with its hold instead of failing on it.

A purge decides with the pure rules of :mod:`report_service.review.retention` twice: once
to list candidates, then again per report under the row locks of its evidence key and
items, so that an item reopened, claimed or escalated meanwhile is left alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from report_service import tokens
from report_service.errors import NotFound
from report_service.review import decisions as taxonomy
from report_service.review import store
from report_service.review.retention import (
    Held,
    ItemState,
    ReportState,
    Verdict,
    purge_cutoff,
    purge_verdict,
)
from report_service.storage.evidence import checkpoint_wal, shred_data_key
from report_service.storage.holds import active_holds
from report_service.storage.models import EvidenceKey, Report
from report_service.storage.reports import own_report_id

ACTION = "evidence_destroy"
PAGE = 500


@dataclass(frozen=True, slots=True)
class Destruction:
    """One report whose evidence was destroyed. ``scrubbed`` is ``False`` when SQLite's
    write-ahead log could not be checkpointed afterwards (another process is reading; see
    :func:`report_service.storage.evidence.checkpoint_wal`)."""

    report_id: str
    item_ids: tuple[int, ...]
    destroyed_at: int
    audit_seq: int
    scrubbed: bool = True


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What a purge destroyed (or, in a dry run, would destroy) and what it kept, by
    :class:`Verdict`; ``held`` names each report kept by a preservation hold, with the
    hold; ``scrubbed`` as for :class:`Destruction`."""

    cutoff_ms: int
    dry_run: bool
    destroyed: tuple[Destruction, ...]
    would_destroy: tuple[str, ...]
    kept: Mapping[Verdict, int]
    scrubbed: bool
    held: tuple[Held, ...] = ()


class EvidenceDestroyer:
    """Destroys report evidence over the service's database; ``clock`` returns
    milliseconds since the epoch."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Callable[[], int]) -> None:
        self._sessions = session_factory
        self._clock = clock

    def destroy(
        self, report_id: str, *, actor: str, reason: str, reporter: str | None = None
    ) -> Destruction:
        """Destroy one report's evidence on request, whatever the state of its items
        (including a legal hold: the request is the operator's explicit decision, and the
        audit entry records it), but never under an active preservation hold: that is
        released first, on the record (``frankly evidence release``). Audited.

        ``reporter``, when given, is the reporter who asked: ``report_id`` is then the id
        *their* client chose, which the service may store under an alias when another
        reporter already held it (:func:`report_service.storage.reports.own_report_id`),
        and a report of someone else's is never touched.

        Raises:
            InvalidRequest: ``actor`` is not a valid name.
            InvalidInput: ``reason`` is shorter than 10 or longer than 1000 characters.
            NotFound: no such report (of ``reporter``, when given).
            EvidenceDestroyed: its evidence was already destroyed.
            EvidenceHeld: an active preservation hold keeps it (the error names it).
        """
        who, why = _check(actor, reason)
        now = self._clock()
        with self._sessions.begin() as session:
            if reporter is not None:
                own = own_report_id(session, reporter, report_id)
                if own is None:
                    raise NotFound(f"no report {report_id!r} of {reporter!r}")
                report_id = own
            done = _destroy(session, report_id, now, who, {"basis": "request", "reason": why})
        return replace(done, scrubbed=self._checkpoint())

    def purge(
        self, *, decided_before_days: int, actor: str, reason: str, dry_run: bool = False
    ) -> PurgeResult:
        """Destroy the evidence of every report that :func:`purge_verdict` allows for a
        cutoff ``decided_before_days`` days ago; each report in its own transaction, each
        audited. With ``dry_run`` nothing is written, not even to the audit log.

        Raises:
            InvalidRequest: ``actor`` is not a valid name.
            InvalidInput: a bad ``reason`` or a period outside 1..36500 days.
        """
        who, why = _check(actor, reason)
        now = self._clock()
        cutoff = purge_cutoff(now, decided_before_days)
        kept: Counter[Verdict] = Counter()
        held: list[Held] = []
        candidates: list[str] = []
        with self._sessions() as session:
            kept[Verdict.RECENT] += store.count_live_evidence_since(session, cutoff)
        after = ""
        while True:  # one short transaction per page (on SQLite every one takes the lock)
            with self._sessions() as session:
                page = store.live_evidence_reports(session, cutoff, after, PAGE)
                for report_id, received_at in page:
                    state = _state(session, report_id, received_at, now, lock=False)
                    verdict = purge_verdict(state, cutoff)
                    if verdict is Verdict.DESTROY:
                        candidates.append(report_id)
                    else:
                        kept[verdict] += 1
                        if state.held is not None:
                            held.append(state.held)
            if len(page) < PAGE:
                break
            after = page[-1][0]
        if dry_run:
            return PurgeResult(
                cutoff, True, (), tuple(candidates), dict(kept), True, tuple(held)
            )
        detail = {
            "basis": "retention",
            "reason": why,
            "decided_before_days": decided_before_days,
            "cutoff_ms": cutoff,
        }
        destroyed: list[Destruction] = []
        for report_id in candidates:
            now = self._clock()
            with self._sessions.begin() as session:
                locked = self._recheck(session, report_id, now)
                if locked is None:
                    continue
                again = purge_verdict(locked, cutoff)
                if again is Verdict.DESTROY:
                    destroyed.append(_destroy(session, report_id, now, who, detail))
                else:
                    kept[again] += 1
                    if locked.held is not None:
                        held.append(locked.held)
        scrubbed = self._checkpoint() if destroyed else True
        return PurgeResult(
            cutoff, False, tuple(destroyed), (), dict(kept), scrubbed, tuple(held)
        )

    def _recheck(self, session: Session, report_id: str, now: int) -> ReportState | None:
        """The report's state again, under the row locks of its evidence key and items;
        ``None`` when the evidence is already gone. Locks are taken key, items, audit head:
        moderators' calls lock items then the audit head, and placing a preservation hold
        locks the key first too, so the orders agree."""
        key = session.get(EvidenceKey, report_id, with_for_update=True)
        report = session.get(Report, report_id)
        if key is None or key.wrapped_key is None or report is None:
            return None
        return _state(session, report_id, report.received_at, now, lock=True)

    def _checkpoint(self) -> bool:
        with self._sessions() as session:
            bind = session.get_bind()
        return checkpoint_wal(bind) if isinstance(bind, Engine) else True


def _check(actor: str, reason: str) -> tuple[str, str]:
    return tokens.check_user_name(actor), taxonomy.check_reason(reason)


def _state(
    session: Session, report_id: str, received_at: int, now: int, *, lock: bool
) -> ReportState:
    items = store.items_of_report(session, report_id, lock=lock)
    leased = store.leased_items(session, [i.id for i in items], now)
    states = []
    for item in items:
        decisions = store.decisions_of(session, item.id)
        standing = [d for d in decisions if d.reopened_at is None]
        states.append(
            ItemState(
                item_id=item.id,
                status=item.status,
                leased=item.id in leased,
                decided_at=standing[-1].decided_at if standing else None,
                decisions=frozenset(d.decision for d in decisions),
            )
        )
    holds = active_holds(session, [report_id], now)
    held = None
    if holds:
        first = holds[0]
        held = Held(report_id, first.id, first.source, first.reference, first.expires_at)
    return ReportState(report_id, received_at, tuple(states), held)


def _destroy(
    session: Session, report_id: str, now: int, actor: str, detail: Mapping[str, Any]
) -> Destruction:
    shred_data_key(session, report_id, now)
    item_ids = tuple(i.id for i in store.items_of_report(session, report_id))
    entry = store.append_audit(
        session,
        at_ms=now,
        actor=actor,
        action=ACTION,
        item_id=item_ids[0] if item_ids else None,
        detail={**detail, "report_id": report_id, "item_ids": list(item_ids)},
    )
    return Destruction(report_id, item_ids, now, entry.seq)
