"""The hooks the CyberTipline submitter calls, in one place (``frankly serve`` and
``frankly ncmec submit`` both take them from here).

- ``events(session, "ncmec.submitted", {"case_id", "item_id", "ncmec_report_id"})``: in
  the transaction that records a finished report (the webhooks branch queues its event).
- ``on_submitted(session, report_ids, reason)``: same transaction; the preservation
  branch places a hold of at least 365 days on the evidence of ``report_ids``.

Both are no-ops until the branches that provide them are merged.
"""

from __future__ import annotations

from report_service.escalation.ncmec.flow import Events, Preserve, no_events, no_preservation


def hooks() -> tuple[Events, Preserve]:
    """``(events, on_submitted)`` for the submitter."""
    return no_events, no_preservation
