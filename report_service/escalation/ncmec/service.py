"""CyberTipline reports for the child-safety team: prepare, list, show, approve.

Preparing (:meth:`NcmecService.prepare`) is the review service's
:data:`~report_service.review.decisions.service.DecisionHook`: it runs in the decision's transaction
and stores a ``prepared`` report when :func:`.rules.incident_for` says the decision
confirms apparent CSAM, enticement or trafficking. A ``safety_lead`` other than the
moderator who decided approves it (:meth:`NcmecService.approve`); only approved reports
are ever sent (:mod:`.flow`) or exported (:mod:`.export`). Every approval is appended to
the audit chain in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from report_service.escalation.ncmec import rules
from report_service.escalation.ncmec import store as ncmec_store
from report_service.escalation.ncmec.models import NcmecFile, NcmecReport
from report_service.escalation.ncmec.schemas import (
    ApproveIn,
    NcmecFileOut,
    NcmecReportOut,
    NcmecReportsOut,
)
from report_service.review.audit import store as audit_store
from report_service.review.core import Actor, audit, require
from report_service.review.decisions import store as decision_store
from report_service.review.errors import Forbidden, InvalidInput, InvalidState
from report_service.review.items import store as item_store
from report_service.review.media import store as media_store
from report_service.review.models import DecisionRow
from report_service.review.moderators.roles import Permission
from report_service.storage.models import ReviewItem

STATUSES = ("prepared", "approved", "open", "submitted", "failed", "withdrawn")
UNSENT = ("prepared", "approved", "failed", "withdrawn")


def unsent(row: NcmecReport) -> bool:
    """Whether NCMEC never saw ``row`` (no report opened, none possibly in flight)."""
    return row.status in UNSENT and row.ncmec_report_id is None and row.submit_started_at is None


EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "video/mp4": ".mp4",
}


def file_name(sha256: str, mime: str) -> str:
    """The name a file is sent under: Frankly never learns the sender's file name, so
    the first 16 hex digits of its SHA-256 and an extension from its media type."""
    return sha256[:16] + EXTENSIONS.get(mime.lower(), ".bin")


def report_out(session: Session, row: NcmecReport) -> NcmecReportOut:
    """The API view of a report."""
    return NcmecReportOut(
        id=row.id,
        item_id=row.item_id,
        decision_id=row.decision_id,
        status=row.status,
        incident_type=row.incident_type,
        incident_at=row.incident_at,
        sender_id=row.sender_id,
        screen_name=row.screen_name,
        escalate_to_high_priority=row.high_priority,
        prepared_by=row.prepared_by,
        prepared_at=row.prepared_at,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
        ncmec_report_id=row.ncmec_report_id,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        ambiguous_submits=row.ambiguous_submits,
        retracted_ids=[int(x) for x in row.retracted_ids.split(",") if x],
        finished_at=row.finished_at,
        files=[
            NcmecFileOut(
                position=f.position,
                sha256=f.sha256,
                size=f.size,
                mime=f.mime,
                file_name=f.file_name,
                classification=f.classification,
                viewed_by_esp=f.viewed_by_esp,
                publicly_available=f.publicly_available,
                ncmec_file_id=f.ncmec_file_id,
                uploaded_at=f.uploaded_at,
                details_sent_at=f.details_sent_at,
            )
            for f in ncmec_store.files_of(session, row)
        ],
    )


def _revealed(session: Session, item_id: int) -> set[str]:
    """SHA-256s of the item's media whose original a moderator revealed (audited
    ``media_reveal``): those files were viewed by the ESP; a blurred thumbnail is not."""
    f = audit_store.AuditFilter(action="media_reveal", item_id=item_id, limit=1000)
    return {str(e.detail.get("sha256")) for e in audit_store.query_audit(session, f)}


class NcmecService:
    """CyberTipline reports over the service database; ``clock`` gives milliseconds."""

    def __init__(self, session_factory: sessionmaker[Session], clock: Callable[[], int]) -> None:
        self._sessions = session_factory
        self._clock = clock

    # ----------------------------------------------------------------- the decision hook

    def prepare(self, session: Session, item: ReviewItem, decision: DecisionRow) -> None:
        """Prepare a report if ``decision`` confirms a reportable incident (see
        :mod:`.rules`). A later decision on the same item (after a reopen) replaces a
        report NCMEC never saw (it must be approved again), or withdraws it when the new
        decision confirms nothing reportable; a report already opened at NCMEC is left
        alone. Audited (``ncmec_prepare``, ``ncmec_withdraw``)."""
        incident = rules.incident_for(
            decision.decision, decision.policy, child_safety=item.child_safety
        )
        existing = ncmec_store.by_item(session, item.id)
        if existing is not None and not unsent(existing):
            return
        now = self._clock()
        if incident is None:
            if existing is not None and existing.status != "withdrawn":
                withdraw(session, existing, decision.moderator, "a new decision", now)
            return
        if existing is not None:
            session.delete(existing)
            session.flush()
        report_ids = [r.report_id for r in item_store.reports_of(session, item.id)]
        sent = [
            m.timestamp_ms
            for m in item_store.messages_of(session, report_ids)
            if m.commitment == item.commitment and m.sender_id == item.sender_id
        ]
        incident_at = min(sent or [item.created_at])
        row = NcmecReport(
            item_id=item.id,
            decision_id=decision.id,
            status="prepared",
            incident_type=incident.value,
            incident_at=min(incident_at, now),
            sender_id=item.sender_id,
            prepared_by=decision.moderator,
            prepared_at=now,
            ambiguous_submits=0,
            retracted_ids="",
            attempts=0,
            next_attempt_at=0,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        revealed = _revealed(session, item.id)
        files: list[NcmecFile] = []
        seen: set[str] = set()
        for m in media_store.media_of_message(session, item):
            if m.sha256 in seen:
                continue
            seen.add(m.sha256)
            files.append(
                NcmecFile(
                    position=len(files),
                    source_report_id=m.report_id,
                    sha256=m.sha256,
                    size=m.size,
                    mime=m.mime,
                    file_name=file_name(m.sha256, m.mime),
                    classification=None,
                    viewed_by_esp=m.sha256 in revealed,
                    publicly_available=False,
                )
            )
        ncmec_store.add_files(session, row, files)
        audit(
            session,
            now,
            decision.moderator,
            "ncmec_prepare",
            item.id,
            {
                "ncmec_report": row.id,
                "decision_id": decision.id,
                "incident_type": incident.value,
                "files": len(files),
            },
        )

    # ----------------------------------------------------------------- the leads' calls

    def list(self, actor: Actor | None, status: str | None = None) -> NcmecReportsOut:
        """Reports, newest first (``actor`` None: the command line).

        Raises:
            Forbidden: the role does not see child-safety work.
            InvalidInput: an unknown status.
        """
        _need_child_safety(actor)
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        with self._sessions() as session:
            rows = ncmec_store.list_reports(session, status)
            return NcmecReportsOut(reports=[report_out(session, r) for r in rows])

    def show(self, actor: Actor | None, report_id: int) -> NcmecReportOut:
        """One report.

        Raises:
            Forbidden: the role does not see child-safety work. NotFound: no such report.
        """
        _need_child_safety(actor)
        with self._sessions() as session:
            return report_out(session, ncmec_store.get(session, report_id))

    def approve(self, actor: Actor, report_id: int, body: ApproveIn) -> NcmecReportOut:
        """Approve a prepared (or failed) report for submission. Audited
        (``ncmec_approve``).

        Raises:
            Forbidden: not a safety_lead, or the moderator who made the decision.
            NotFound: no such report.
            InvalidState: the report is already approved, being sent or sent.
        """
        name = actor.name
        require(
            actor,
            Permission.APPROVE_NCMEC,
            "only the lead of the child-safety team (safety_lead) approves",
        )
        now = self._clock()
        with self._sessions.begin() as session:
            row = ncmec_store.get(session, report_id, lock=True)
            if row.status not in ("prepared", "failed"):
                raise InvalidState(
                    f"the report is {row.status}; only a prepared or failed report can be approved"
                )
            current = decision_store.current_decision(session, row.item_id)
            if current is None or current.id != row.decision_id:
                raise InvalidState("the decision this report rests on was reopened")
            if row.prepared_by == name:
                raise Forbidden("the moderator who made the decision cannot approve its report")
            again = row.status == "failed"
            row.status = "approved"
            row.approved_by = name
            row.approved_at = now
            row.attempts = 0
            row.next_attempt_at = now
            row.last_error = None
            row.updated_at = now
            if body.screen_name is not None:
                row.screen_name = body.screen_name
            if body.escalate_to_high_priority is not None:
                row.high_priority = body.escalate_to_high_priority
            files = ncmec_store.files_of(session, row)
            unknown = set(body.file_classifications) - {f.sha256 for f in files}
            if unknown:
                raise InvalidInput("file_classifications names a file the report does not hold")
            for f in files:
                if body.classification is not None:
                    f.classification = body.classification
                f.classification = body.file_classifications.get(f.sha256, f.classification)
                f.publicly_available = body.publicly_available
            session.flush()
            audit(
                session,
                now,
                name,
                "ncmec_approve",
                row.item_id,
                {
                    "ncmec_report": row.id,
                    "again_after_failure": again,
                    "classification": body.classification,
                    "high_priority": body.escalate_to_high_priority is not None,
                },
            )
            return report_out(session, row)


def withdraw(session: Session, row: NcmecReport, actor: str, why: str, now: int) -> None:
    """Mark an unsent report ``withdrawn``: its decision was reopened or replaced.
    Audited (``ncmec_withdraw``)."""
    row.status = "withdrawn"
    row.last_error = f"withdrawn: {why} replaced the decision it rested on"
    row.lease_owner = None
    row.lease_expires_at = None
    row.updated_at = now
    audit(
        session,
        now,
        actor,
        "ncmec_withdraw",
        row.item_id,
        {"ncmec_report": row.id, "decision_id": row.decision_id},
    )


def _need_child_safety(actor: Actor | None) -> None:
    if actor is not None:
        require(actor, Permission.CHILD_SAFETY, "the {role} role does not see child-safety work")
