"""Plain-words notices (pure): what the reporter is told about the decision on their
report (DSA Art. 16(5), 17(3)(f)) and how anyone affected can seek redress (Art. 20, 21)."""

from __future__ import annotations

from report_service.escalation.dsa.mapping import DsaMapping

REDRESS = (
    "If you disagree, you can ask us to review this decision within six months "
    "(an internal complaint under Article 20 of the EU Digital Services Act). You may "
    "also turn to a certified out-of-court dispute settlement body (Article 21) or to a "
    "court."
)
APPEAL_HOW = (
    "To appeal, send POST /v1/appeals with this statement's id and your reason within "
    "six months (Article 20 of the EU Digital Services Act); a moderator other than the "
    "one who decided will review it. You may also turn to a certified out-of-court "
    "dispute settlement body (Article 21) or to a court."
)


def reporter_notice(
    outcome: str, policy: str | None, reason: str, child_safety: bool, mapping: DsaMapping
) -> str:
    """The notice for a decided report whose deciding item has ``outcome`` under
    ``policy`` (never the moderator's note, never anything about the sender beyond the
    action taken)."""
    rule = mapping.rule_for(policy or "", reason, child_safety=child_safety)
    cited = f" (policy {policy})" if policy else ""
    if outcome == "no_violation":
        return (
            "We reviewed the message you reported and found that it does not break our "
            f"rules{cited}. We took no action against the sender. {REDRESS}"
        )
    restriction = mapping.restrictions.get(outcome)
    action = restriction.summary if restriction else outcome.replace("_", " ")
    return (
        "We reviewed the message you reported and found that it breaks our rules on "
        f"{rule.label}{cited}. We acted against the sender's account: {action}. {REDRESS}"
    )
