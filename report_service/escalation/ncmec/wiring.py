"""The CyberTipline submitter as ``frankly serve`` and ``frankly ncmec submit`` both build
it (:func:`submitter`), with the hooks it calls, in one place:

- ``events(session, "ncmec.submitted", {"case_id", "item_id", "ncmec_report_id"})``: in
  the transaction that records a finished report, queues the signed webhook event
  (:func:`report_service.escalation.webhooks.outbox.emit_event`).
- ``on_submitted(session, report_ids, reason, reference)``: same transaction; places a
  preservation hold of ``FRANKLY_PRESERVATION_DAYS`` (at least 365) days on the evidence
  of ``report_ids``, referenced by NCMEC's report id
  (:func:`report_service.escalation.preservation.service.place_preservation_hold`).

The hold must never undo the record of a finished submission (that would file the case
twice), so a report whose evidence is already gone is logged and skipped, not raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from report_service.escalation.ncmec import config
from report_service.escalation.ncmec.client import CyberTiplineClient
from report_service.escalation.ncmec.flow import Events, Preserve, RetryPolicy, Submitter
from report_service.escalation.preservation.errors import NothingToHold
from report_service.escalation.preservation.service import place_preservation_hold
from report_service.escalation.webhooks.outbox import event_hook
from report_service.review.media.evidence_access import EvidenceReader

ACTOR = "ncmec-submitter"


def hooks(settings: Any, clock: Callable[[], int]) -> tuple[Events, Preserve]:
    """``(events, on_submitted)`` for the submitter, with the service's ``settings``
    (``preservation_days``) and ``clock`` (milliseconds)."""
    events = event_hook(clock)

    def emit(session: Session, event_type: str, data: dict[str, Any]) -> None:
        events(session, event_type, data)

    def preserve(session: Session, report_ids: list[str], reason: str, reference: str) -> None:
        try:
            place_preservation_hold(
                session,
                report_ids,
                reason,
                reference=reference,
                actor=ACTOR,
                now_ms=clock(),
                preservation_days=settings.preservation_days,
            )
        except NothingToHold:
            logging.getLogger("frankly.ncmec").warning(
                "ncmec submission: no evidence left to preserve",
                extra={"ncmec_report_id": reference},
            )

    return emit, preserve


def submitter(
    settings: Any,
    sessions: sessionmaker[Session],
    clock: Callable[[], int],
    evidence: EvidenceReader,
    client: CyberTiplineClient,
    *,
    owner: str,
) -> Submitter:
    """The submitter on ``sessions`` sending through ``client`` (the caller closes it):
    the company profile and ``ncmec_max_attempts`` from ``settings``, and :func:`hooks`.
    ``owner`` names the process in leases."""
    events, on_submitted = hooks(settings, clock)
    return Submitter(
        sessions,
        clock,
        evidence,
        config.profile(settings),
        client,
        owner=owner,
        policy=RetryPolicy(max_attempts=settings.ncmec_max_attempts),
        events=events,
        on_submitted=on_submitted,
    )
