"""The submitter: approved CyberTipline reports through NCMEC's reporting flow.

Each report is a state machine persisted in ``ncmec_reports`` / ``ncmec_files``
(:mod:`.models`). One step is one HTTP call followed by one transaction that records
its result, so a process that dies anywhere resumes from the last recorded step:

1. ``/submit`` the ``report`` document. ``submit_started_at`` is committed *before* the
   call; NCMEC's report id and status ``open`` after it.
2. per file: decrypt the evidence (in memory only), ``/upload`` it, record NCMEC's file
   id and the MD5 (checked against the MD5 NCMEC computed of what it received).
3. per file: ``/fileinfo`` its ``fileDetails``; record ``details_sent_at``.
4. ``/finish`` (``finish_started_at`` committed first); record ``submitted``, call the
   ``events`` hook (``ncmec.submitted``) and the ``on_submitted`` preservation hook, and
   audit ``ncmec_submitted``, all in that one transaction.

Crash windows and what resuming does (docs/escalation.md, "NCMEC CyberTipline"):

- after ``/submit`` but before its id was recorded: the id is unknown, so the report
  cannot be retracted or reused. NCMEC's description makes a report only at ``/finish``;
  an opened report that is never finished is not a CyberTipline report. The submitter
  opens a new one, counts the ambiguity (``ambiguous_submits``) and audits it
  (``ncmec_submit_ambiguous``) so a lead can tell NCMEC. A submit NCMEC *answered* with
  an error (4xx, 5xx) opened nothing and is not counted.
- after ``/upload`` but before the file id was recorded: the file is uploaded again into
  the same open report (one report, possibly one unused copy of the file, never a second
  report).
- after ``/fileinfo``: sent again (same file id; NCMEC keeps the last details).
- after ``/finish`` (or a ``/finish`` whose answer was lost to a timeout): finish is
  called again; if NCMEC refuses it (it refuses to finish a finished report), the report
  is recorded ``submitted`` with that note in ``last_error``.

Failures: :class:`NcmecUnavailable` is retried in the same pass with exponential backoff
(``attempts_per_pass``), then the report waits (``next_attempt_at`` doubling from
``pass_backoff_ms``) until ``max_attempts`` passes failed: status ``failed``, shown to
leads with ``last_error``. :class:`NcmecRejected`, a schema violation or destroyed
evidence fail the report at once; an open report is retracted (``/retract``) first, and
its id kept in ``retracted_ids``. A lead may approve a failed report again.

Several submitters (processes) share the work through leases (:func:`.store.claim_due`).
Nothing is sent for a report that is not ``approved`` or ``open``, and only a lead's
approval makes a report ``approved`` (:meth:`.service.NcmecService.approve`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from report_service.errors import EvidenceDestroyed
from report_service.escalation.ncmec import content
from report_service.escalation.ncmec import store as ncmec_store
from report_service.escalation.ncmec.client import CyberTiplineClient
from report_service.escalation.ncmec.errors import (
    NcmecRejected,
    NcmecUnavailable,
    SchemaViolation,
)
from report_service.escalation.ncmec.models import NcmecFile, NcmecReport
from report_service.escalation.ncmec.service import withdraw
from report_service.escalation.ncmec.xml import build_file_details, build_report
from report_service.observability import logger
from report_service.review.audit import store as audit_store
from report_service.review.decisions import store as decision_store
from report_service.review.errors import LeaseLost
from report_service.review.items import store as item_store
from report_service.review.media.evidence_access import EvidenceReader

Events = Callable[[Session, str, dict[str, Any]], None]
"""``(session, event_type, data)``: called in the transaction that records an event."""
Preserve = Callable[[Session, list[str], str, str], None]
"""``(session, report_ids, reason, reference)``: place the reports' evidence under a hold;
``reference`` is NCMEC's report id (a retry with the same reference places nothing new)."""
ACTOR = "ncmec-submitter"
T = TypeVar("T")


def _audit(session: Session, row: NcmecReport, now: int, action: str, **detail: Any) -> None:
    """Append ``action`` on ``row``'s item to the audit chain, as the submitter; the
    detail names the report first (``ncmec_report``), then ``detail``."""
    audit_store.append_audit(
        session,
        at_ms=now,
        actor=ACTOR,
        action=action,
        item_id=row.item_id,
        detail={"ncmec_report": row.id, **detail},
    )


def _release(row: NcmecReport, now: int) -> None:
    """Give up the lease on ``row`` (the state change is the caller's)."""
    row.lease_owner = None
    row.lease_expires_at = None
    row.updated_at = now


def no_events(session: Session, event_type: str, data: dict[str, Any]) -> None:
    """The default ``events`` hook: nothing."""


def no_preservation(session: Session, report_ids: list[str], reason: str, reference: str) -> None:
    """The default ``on_submitted`` hook: nothing."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a report is retried."""

    attempts_per_pass: int = 3
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_attempts: int = 8
    pass_backoff_ms: int = 60_000
    max_pass_backoff_ms: int = 6 * 3600 * 1000


class Submitter:
    """Sends approved reports. ``owner`` names this process in leases; ``after_call``
    (tests only) runs after each HTTP call, before its result is recorded."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Callable[[], int],
        evidence: EvidenceReader,
        profile: content.CompanyProfile,
        client: CyberTiplineClient,
        *,
        owner: str,
        events: Events = no_events,
        on_submitted: Preserve = no_preservation,
        policy: RetryPolicy | None = None,
        lease_ms: int = 10 * 60 * 1000,
        sleep: Callable[[float], None] = time.sleep,
        after_call: Callable[[str], None] | None = None,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._evidence = evidence
        self._profile = profile
        self._client = client
        self._owner = owner
        self._events = events
        self._on_submitted = on_submitted
        self._policy = policy or RetryPolicy()
        self._lease_ms = lease_ms
        self._sleep = sleep
        self._after_call = after_call or (lambda step: None)

    # ------------------------------------------------------------------ driving

    def run_once(self, limit: int = 100) -> list[int]:
        """Work every due report once (at most ``limit``); the ids worked on."""
        done: list[int] = []
        while len(done) < limit:
            with self._sessions.begin() as session:
                row = ncmec_store.claim_due(session, self._owner, self._clock(), self._lease_ms)
                if row is None:
                    break
                rid = row.id
            self.process(rid)
            done.append(rid)
        return done

    def run_forever(self, stop: threading.Event, interval_s: float) -> None:
        """``run_once`` every ``interval_s`` until ``stop`` is set (``frankly serve``)."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception as exc:  # a database outage must not end the loop
                logger().warning("ncmec submitter pass failed", extra={"error": type(exc).__name__})
            stop.wait(interval_s)

    def process(self, rid: int) -> None:
        """Take one leased report as far as it goes now."""
        try:
            self._check_decision(rid)
            self._submit(rid)
            for fid in self._pending(rid, uploaded=False):
                self._upload(rid, fid)
            for fid in self._pending(rid, uploaded=True):
                self._file_info(rid, fid)
            self._check_decision(rid)
            self._finish(rid)
        except LeaseLost:
            return
        except NcmecUnavailable as exc:
            self._defer(rid, str(exc))
        except (NcmecRejected, SchemaViolation, EvidenceDestroyed) as exc:
            self._fail(rid, f"{type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ steps

    def _hold(self, session: Session, rid: int) -> NcmecReport:
        return ncmec_store.hold(session, rid, self._owner, self._clock(), self._lease_ms)

    def _retry(self, step: str, call: Callable[[], T]) -> T:
        p = self._policy
        for attempt in range(p.attempts_per_pass):
            try:
                result = call()
            except NcmecUnavailable:
                if attempt == p.attempts_per_pass - 1:
                    raise
                self._sleep(min(p.max_delay_s, p.base_delay_s * 2**attempt))
                continue
            self._after_call(step)
            return result
        raise NcmecUnavailable(f"{step}: no attempt made")  # attempts_per_pass < 1

    def _check_decision(self, rid: int) -> None:
        """Stop when the decision the report rests on was reopened: a report NCMEC never
        saw is withdrawn; an open one fails (and is retracted by :meth:`_fail`).

        Raises:
            LeaseLost: withdrawn. NcmecRejected: open at NCMEC (to retract it).
        """
        now = self._clock()
        with self._sessions.begin() as session:
            row = self._hold(session, rid)
            current = decision_store.current_decision(session, row.item_id)
            if current is not None and current.id == row.decision_id:
                return
            opened = row.ncmec_report_id is not None
            if not opened:
                withdraw(session, row, ACTOR, "a reopen", now)
        if opened:
            raise NcmecRejected("the decision this report rests on was reopened")
        raise LeaseLost("withdrawn: the decision this report rests on was reopened")

    def _submit(self, rid: int) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            row = self._hold(session, rid)
            if row.ncmec_report_id is not None:
                return
            if row.submit_started_at is not None:
                row.ambiguous_submits += 1
                _audit(
                    session, row, now, "ncmec_submit_ambiguous", started_at=row.submit_started_at
                )
            document = build_report(content.build(session, self._evidence, self._profile, row))
            row.submit_started_at = now
            row.updated_at = now
        lost = [0]

        def submit() -> int:
            try:
                return self._client.submit(document)
            except NcmecUnavailable as exc:
                lost[0] += not exc.answered  # NCMEC may have opened a report we never learn
                raise

        try:
            ncmec_id = self._retry("submit", submit)
        except (NcmecRejected, NcmecUnavailable) as exc:
            if isinstance(exc, NcmecRejected) or exc.answered:
                with self._sessions.begin() as session:
                    self._hold(session, rid).submit_started_at = None
            raise
        now = self._clock()
        with self._sessions.begin() as session:
            row = self._hold(session, rid)
            row.ncmec_report_id = ncmec_id
            row.submit_started_at = None
            if lost[0]:
                row.ambiguous_submits += lost[0]
                _audit(session, row, now, "ncmec_submit_ambiguous", lost_answers=lost[0])
            row.status = "open"
            row.updated_at = now
            _audit(session, row, now, "ncmec_open", ncmec_report_id=ncmec_id)

    def _pending(self, rid: int, *, uploaded: bool) -> list[int]:
        with self._sessions() as session:
            row = ncmec_store.get(session, rid)
            files = ncmec_store.files_of(session, row)
            if uploaded:
                return [f.id for f in files if f.ncmec_file_id and f.details_sent_at is None]
            return [f.id for f in files if not f.ncmec_file_id]

    def _file(self, session: Session, fid: int) -> NcmecFile:
        f = session.get(NcmecFile, fid)
        if f is None:
            raise LeaseLost("the file row is gone")
        return f

    def _upload(self, rid: int, fid: int) -> None:
        with self._sessions.begin() as session:
            row = self._hold(session, rid)
            f = self._file(session, fid)
            data = content.file_bytes(session, self._evidence, f)
            ncmec_id, name, mime = row.ncmec_report_id, f.file_name, f.mime
        if ncmec_id is None:
            raise LeaseLost("the report is not open")
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        answer = self._retry("upload", lambda: self._client.upload(ncmec_id, name, data, mime))
        if answer.file_hash and answer.file_hash.strip().lower() != md5:
            raise NcmecRejected("NCMEC's MD5 of the upload differs from the file's")
        now = self._clock()
        with self._sessions.begin() as session:
            self._hold(session, rid)
            f = self._file(session, fid)
            f.ncmec_file_id = answer.file_id
            f.md5 = md5
            f.uploaded_at = now

    def _file_info(self, rid: int, fid: int) -> None:
        with self._sessions.begin() as session:
            row = self._hold(session, rid)
            f = self._file(session, fid)
            if row.ncmec_report_id is None or f.ncmec_file_id is None:
                raise LeaseLost("the report or file is not open")
            document = build_file_details(
                content.file_details(row, f, row.ncmec_report_id, f.ncmec_file_id)
            )
        self._retry("fileinfo", lambda: self._client.file_info(document))
        with self._sessions.begin() as session:
            self._hold(session, rid)
            self._file(session, fid).details_sent_at = self._clock()

    def _finish(self, rid: int) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            row = self._hold(session, rid)
            ncmec_id = row.ncmec_report_id
            if ncmec_id is None:
                raise LeaseLost("the report is not open")
            finished_before = row.finish_started_at is not None
            row.finish_started_at = now
        note = None
        lost: list[bool] = [finished_before]

        def finish() -> object:
            try:
                return self._client.finish(ncmec_id)
            except NcmecUnavailable as exc:
                lost[0] = lost[0] or not exc.answered  # NCMEC may have finished it
                raise

        try:
            self._retry("finish", finish)
        except NcmecRejected as exc:
            if not lost[0]:
                raise
            note = f"finish answer lost, then refused as already finished: {exc}"
        now = self._clock()
        with self._sessions.begin() as session:
            row = self._hold(session, rid)
            row.status = "submitted"
            row.finished_at = now
            row.last_error = note
            _release(row, now)
            reports = [r.report_id for r in item_store.reports_of(session, row.item_id)]
            _audit(session, row, now, "ncmec_submitted", ncmec_report_id=ncmec_id)
            self._events(
                session,
                "ncmec.submitted",
                {"case_id": row.id, "item_id": row.item_id, "ncmec_report_id": ncmec_id},
            )
            self._on_submitted(session, reports, f"CyberTipline report {ncmec_id}", str(ncmec_id))
        logger().info(
            "ncmec report submitted",
            extra={"ncmec_report": rid, "ncmec_report_id": ncmec_id},
        )

    # ------------------------------------------------------------------ failure

    def _defer(self, rid: int, error: str) -> None:
        p = self._policy
        now = self._clock()
        with self._sessions.begin() as session:
            row = ncmec_store.get(session, rid, lock=True)
            if row.lease_owner != self._owner:
                return
            row.attempts += 1
            row.last_error = error
            _release(row, now)
            if row.attempts >= p.max_attempts:
                exhausted = True
            else:
                exhausted = False
                delay = min(p.max_pass_backoff_ms, p.pass_backoff_ms * 2 ** (row.attempts - 1))
                row.next_attempt_at = now + delay
        if exhausted:
            self._fail(rid, f"gave up after {p.max_attempts} attempts: {error}", leased=False)

    def _fail(self, rid: int, error: str, *, leased: bool = True) -> None:
        with self._sessions() as session:
            row = ncmec_store.get(session, rid)
            if leased and row.lease_owner != self._owner:
                return  # another submitter took it over; it decides
            open_id = row.ncmec_report_id if row.status in ncmec_store.WORKING else None
        retracted = False
        if open_id is not None:
            try:
                self._retry("retract", lambda: self._client.retract(open_id))
                retracted = True
            except (NcmecRejected, NcmecUnavailable) as exc:
                error += f"; retract of {open_id} failed: {exc}"
        now = self._clock()
        with self._sessions.begin() as session:
            row = ncmec_store.get(session, rid, lock=True)
            if leased and row.lease_owner != self._owner:
                return
            row.status = "failed"
            row.last_error = error[:2000]
            _release(row, now)
            if retracted and open_id is not None:
                row.retracted_ids = ",".join(x for x in (row.retracted_ids, str(open_id)) if x)
                row.ncmec_report_id = None
                row.finish_started_at = None
                for f in ncmec_store.files_of(session, row):
                    f.ncmec_file_id = None
                    f.uploaded_at = None
                    f.details_sent_at = None
            logger().warning(
                "ncmec report failed",
                extra={"ncmec_report": rid, "retracted": open_id if retracted else None},
            )
            _audit(
                session,
                row,
                now,
                "ncmec_failed",
                retracted=open_id if retracted else None,
                error=error[:300],
            )
