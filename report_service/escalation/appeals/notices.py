"""Plain-words notices (pure): what the reporter is told about the decision on their
report (DSA Art. 16(5), 17(3)(f)) and how anyone affected can seek redress (Art. 20, 21)."""

from __future__ import annotations

from report_service.escalation.dsa.mapping import DsaMapping

REDRESS = (
    "If you disagree, you can ask us to review this decision within six months "
    "(an internal complaint under Article 20 of the EU Digital Services Act): send "
    "POST /v1/appeals with this report's report_id and your reason; a moderator other "
    "than the one who decided will review it, and GET /v1/appeals/{appeal_id} shows the "
    "outcome. You may "
    "also turn to a certified out-of-court dispute settlement body (Article 21) or to a "
    "court."
)
FURTHER_REDRESS = (
    "You may turn to a certified out-of-court dispute settlement body (Article 21 of the EU "
    "Digital Services Act) or to a court."
)
APPEAL_HOW = (
    "To appeal, send POST /v1/appeals with this statement's id and your reason within "
    "six months (Article 20 of the EU Digital Services Act); a moderator other than the "
    "one who decided will review it. You may also turn to a certified out-of-court "
    "dispute settlement body (Article 21) or to a court."
)


SUPERSEDED = "superseded"
"""The outcome of an appeal or complaint closed because another one about the same
decision, reviewed jointly by the same moderator, was reversed
(:mod:`report_service.escalation.appeals.service`)."""


def complaint_note(appeal_id: int, status: str, outcome: str | None) -> str:
    """What the notice says about the reporter's latest complaint on the report."""
    if status != "decided":
        return f"Your complaint (appeal {appeal_id}) is being reviewed by another moderator."
    if outcome == SUPERSEDED:
        return (
            f"Your complaint (appeal {appeal_id}) was reviewed together with another "
            "complaint about the same decision, and that review changed the decision; "
            "this is the new decision."
        )
    if outcome == "reverse":
        return (
            f"Your complaint (appeal {appeal_id}) was upheld: another moderator reversed "
            "the earlier decision and the message was reviewed again; this is the new "
            "decision."
        )
    return (
        f"Your complaint (appeal {appeal_id}) was reviewed by another moderator, who "
        "confirmed the decision."
    )


def reporter_notice(
    outcome: str,
    policy: str | None,
    reason: str,
    child_safety: bool,
    mapping: DsaMapping,
    complaint: str | None = None,
    may_complain: bool = True,
) -> str:
    """The notice for a decided report whose deciding item has ``outcome`` under
        ``policy`` (never the moderator's note, never anything about the sender beyond the
        action taken); ``complaint`` (:func:`complaint_note`) is put before the redress, which
    offers an internal complaint only if ``may_complain`` (the reporter has not yet
    complained about this decision)."""
    rule = mapping.rule_for(policy or "", reason, child_safety=child_safety)
    cited = f" (policy {policy})" if policy else ""
    redress = REDRESS if may_complain else FURTHER_REDRESS
    if complaint is not None:
        redress = f"{complaint} {redress}"
    if outcome == "no_violation":
        return (
            "We reviewed the message you reported and found that it does not break our "
            f"rules{cited}. We took no action against the sender. {redress}"
        )
    restriction = mapping.restrictions.get(outcome)
    action = restriction.summary if restriction else outcome.replace("_", " ")
    return (
        "We reviewed the message you reported and found that it breaks our rules on "
        f"{rule.label}{cited}. We acted against the sender's account: {action}. {redress}"
    )
