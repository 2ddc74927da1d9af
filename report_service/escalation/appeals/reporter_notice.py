"""The reporter's notice for ``GET /v1/reports/{id}``: finds the deciding item's standing
decision and words it (:func:`~.notices.reporter_notice`). Installed on
``app.state.report_notice`` so that the reports router needs no import of this package."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from report_service.escalation.appeals.models import AppealRow
from report_service.escalation.appeals.notices import complaint_note, reporter_notice
from report_service.escalation.dsa.mapping import DsaMapping
from report_service.review.decisions import store as decision_store
from report_service.storage.models import ReportItem, ReviewItem
from report_service.storage.reports import own_report_id


class ReporterNotices:
    """``(session, report_id, reporter) -> str | None``: the notice once every item of
    the report is decided (the same rule as the status), else ``None``."""

    def __init__(self, mapping: DsaMapping) -> None:
        self._mapping = mapping

    def __call__(self, session: Session, report_id: str, reporter: str) -> str | None:
        stored = own_report_id(session, reporter, report_id)
        if stored is None:
            return None
        items = list(
            session.scalars(
                select(ReviewItem)
                .join(ReportItem, ReportItem.item_id == ReviewItem.id)
                .where(ReportItem.report_id == stored)
                .order_by(ReviewItem.priority.desc(), ReviewItem.id)
            )
        )
        if not items or any(i.status != "decided" for i in items) or items[0].outcome is None:
            return None
        top = items[0]
        current = decision_store.current_decision(session, top.id)
        policy = None if current is None else current.policy
        complaint = session.scalars(
            select(AppealRow)
            .where(AppealRow.appellant == reporter, AppealRow.report_id == report_id)
            .order_by(AppealRow.id.desc())
            .limit(1)
        ).first()
        note = (
            None
            if complaint is None
            else complaint_note(complaint.id, complaint.status, complaint.outcome)
        )
        may_complain = complaint is None or current is None or complaint.decision_id != current.id
        return reporter_notice(
            top.outcome or "",
            policy,
            top.reason,
            top.child_safety,
            self._mapping,
            note,
            may_complain,
        )
