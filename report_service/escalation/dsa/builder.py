"""Build a statement of reasons in the Transparency Database's API shape (pure).

Input: :class:`StatementFacts`, the non-personal facts of one decision, and the
:class:`~report_service.escalation.dsa.mapping.DsaMapping`. Output: the JSON object the
API's ``POST /api/v1/statement`` (or one entry of ``POST /api/v1/statements``) takes.

No personal data (API documentation, "Statement Attributes"; DSA Art. 24(5)): the facts
carry no user id, name, conversation, message text or moderator note, so none can reach
the statement; every free-text field is written here from fixed sentences and the
mapping's texts. :func:`validate_statement` checks a statement against the API's rules and
is what the tests' stand-in for the database applies too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from report_service.escalation.dsa import vocabulary as v
from report_service.escalation.dsa.mapping import DsaMapping

_PUID = re.compile(v.PUID_PATTERN)

ENDINGS = {
    "appeal": "On the user's internal complaint (DSA Article 20), another moderator "
    "reversed the decision{corrected}",
    "complaint": "On a notifier's internal complaint (DSA Article 20), another moderator "
    "re-opened the decision{corrected} for a fresh review",
    "reopened": "On the platform's own review, the decision{corrected} was re-opened "
    "for a fresh review",
}
"""The sentence of a correction's facts for each way a restriction ends (no personal
data); a fresh violation decision gets its own statement."""


@dataclass(frozen=True, slots=True)
class StatementFacts:
    """What a statement may say about a decision: no personal data.

    ``media_types``: MIME types of the message's attachments (the service's own record).
    ``hash_matched``: an attachment matched a hash bank (automated detection).
    ``ended_at_ms``: for a corrected statement, when the restriction ended;
    ``corrects``: the PUID of the statement it corrects; ``ended_by``: why it ended
    (:data:`ENDINGS`: reversed on the user's appeal, re-opened on a notifier's complaint,
    or re-opened by the platform's own review).
    """

    decision: str
    policy: str
    reason: str
    child_safety: bool
    content_at_ms: int
    decided_at_ms: int
    media_types: tuple[str, ...] = ()
    hash_matched: bool = False
    ended_at_ms: int | None = None
    corrects: str | None = None
    ended_by: str = "appeal"


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def content_types(media_types: tuple[str, ...]) -> list[str]:
    """``content_type``: text (the message body) plus a type per kind of attachment."""
    kinds = {"CONTENT_TYPE_TEXT"}
    for mime in media_types:
        top = mime.split("/", 1)[0].lower()
        kinds.add(
            {
                "image": "CONTENT_TYPE_IMAGE",
                "video": "CONTENT_TYPE_VIDEO",
                "audio": "CONTENT_TYPE_AUDIO",
            }.get(top, "CONTENT_TYPE_OTHER")
        )
    return sorted(kinds)


def build_statement(facts: StatementFacts, mapping: DsaMapping, puid: str) -> dict[str, Any]:
    """The statement of reasons for ``facts`` (see the module docstring).

    Raises:
        KeyError: the decision has no restriction in ``mapping`` (``no_violation`` and
            ``escalate_child_safety`` never have one).
        ValueError: ``puid`` is not 1..500 of ``[A-Za-z0-9_-]``.
    """
    if not _PUID.match(puid) or len(puid) > v.MAX_PUID_CHARS:
        raise ValueError("puid must be 1-500 characters of A-Z a-z 0-9 _ -")
    restriction = mapping.restrictions[facts.decision]
    rule = mapping.rule_for(facts.policy, facts.reason, child_safety=facts.child_safety)
    illegal = rule.illegal or facts.decision == "escalate_legal"
    policy = mapping.policies.get(facts.policy)
    applied = _day(facts.decided_at_ms)
    out: dict[str, Any] = {}
    if restriction.visibility:
        out["decision_visibility"] = list(restriction.visibility)
        if restriction.visibility_other:
            out["decision_visibility_other"] = restriction.visibility_other
    if restriction.provision:
        out["decision_provision"] = restriction.provision
    if restriction.account:
        out["decision_account"] = restriction.account
    explanation = (policy.explanation if policy and policy.explanation else "") or rule.explanation
    explanation = explanation or f"The message violated the rules on {rule.label}."
    if illegal:
        out["decision_ground"] = v.DECISION_GROUND_ILLEGAL
        out["illegal_content_legal_ground"] = rule.legal_ground
        out["illegal_content_explanation"] = explanation
    else:
        out["decision_ground"] = v.DECISION_GROUND_INCOMPATIBLE
        out["incompatible_content_ground"] = policy.reference if policy else rule.terms_ground
        out["incompatible_content_explanation"] = explanation
        out["incompatible_content_illegal"] = "Yes" if rule.also_illegal else "No"
    if mapping.terms_url:
        out["decision_ground_reference_url"] = mapping.terms_url
    out["content_type"] = content_types(facts.media_types)
    out["category"] = rule.category
    if rule.keywords:
        out["category_specification"] = list(rule.keywords)
    out["territorial_scope"] = list(mapping.territorial_scope)
    out["content_date"] = max(_day(facts.content_at_ms), "2000-01-01")
    out["application_date"] = applied
    if facts.ended_at_ms is not None:
        end = max(_day(facts.ended_at_ms), applied)
        if "decision_account" in out:
            out["end_date_account_restriction"] = end
        if "decision_provision" in out:
            out["end_date_service_restriction"] = end
        if "decision_visibility" in out:
            out["end_date_visibility_restriction"] = end
    out["decision_facts"] = _facts_text(facts, rule.label, restriction.summary)
    out["source_type"] = "SOURCE_ARTICLE_16" if illegal else "SOURCE_TYPE_OTHER_NOTIFICATION"
    out["automated_detection"] = "Yes" if facts.hash_matched else "No"
    out["automated_decision"] = "AUTOMATED_DECISION_NOT_AUTOMATED"
    out["puid"] = puid
    return out


def _facts_text(facts: StatementFacts, label: str, summary: str) -> str:
    parts = [
        "A recipient of a message in an end-to-end encrypted conversation reported it. "
        "The service verified cryptographically (message franking) who sent the message "
        "and what it said, so the report could not be forged or altered.",
    ]
    if facts.media_types:
        parts.append(f"The message carried {len(facts.media_types)} attachment(s).")
    if facts.hash_matched:
        parts.append("An attachment matched a list of hashes of known abusive material.")
    parts.append(
        f"A trained human moderator reviewed the verified message and found a violation "
        f"({label}). The decision is {summary}."
    )
    if facts.ended_at_ms is not None:
        corrected = f" (statement {facts.corrects})" if facts.corrects else ""
        how = ENDINGS[facts.ended_by].format(corrected=corrected)
        parts.append(f"{how}; the restriction ended on {_day(facts.ended_at_ms)}.")
    return " ".join(parts)[: v.MAX_FACTS_CHARS]


_LIMITS = {
    "decision_visibility_other": v.MAX_GROUND_CHARS,
    "illegal_content_legal_ground": v.MAX_GROUND_CHARS,
    "illegal_content_explanation": v.MAX_EXPLANATION_CHARS,
    "incompatible_content_ground": v.MAX_GROUND_CHARS,
    "incompatible_content_explanation": v.MAX_EXPLANATION_CHARS,
    "decision_facts": v.MAX_FACTS_CHARS,
    "decision_ground_reference_url": 500,
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def validate_statement(s: Any) -> dict[str, list[str]]:
    """The API's validation errors for one statement, by field (empty when valid):
    required fields, allowed values, text limits, date forms and the ground rules of the
    documentation's "Statement Attributes"."""
    errors: dict[str, list[str]] = {}

    def bad(key: str, msg: str) -> None:
        errors.setdefault(key, []).append(msg)

    if not isinstance(s, dict):
        return {"statement": ["must be an object"]}
    if not any(
        s.get(k)
        for k in (
            "decision_visibility",
            "decision_monetary",
            "decision_provision",
            "decision_account",
        )
    ):
        bad("decision_visibility", "one of the four decision fields is required")
    enums: dict[str, frozenset[str]] = {
        "decision_monetary": v.DECISION_MONETARY,
        "decision_provision": v.DECISION_PROVISION,
        "decision_account": v.DECISION_ACCOUNT,
        "decision_ground": v.DECISION_GROUND,
        "category": v.CATEGORY,
        "source_type": v.SOURCE_TYPE,
        "automated_detection": v.AUTOMATED_DETECTION,
        "automated_decision": v.AUTOMATED_DECISION,
        "incompatible_content_illegal": v.INCOMPATIBLE_CONTENT_ILLEGAL,
        "account_type": v.ACCOUNT_TYPE,
    }
    for key, allowed in enums.items():
        if key in s and s[key] not in allowed:
            bad(key, f"the selected {key} is invalid")
    lists: dict[str, frozenset[str]] = {
        "decision_visibility": v.DECISION_VISIBILITY,
        "content_type": v.CONTENT_TYPE,
        "territorial_scope": v.TERRITORY,
        "category_specification": v.KEYWORD,
    }
    for key, allowed in lists.items():
        if key in s and (not isinstance(s[key], list) or not s[key] or not set(s[key]) <= allowed):
            bad(key, f"{key} must be a non-empty list of allowed values")
    for key in (
        "decision_ground",
        "content_type",
        "category",
        "content_date",
        "application_date",
        "decision_facts",
        "source_type",
        "automated_detection",
        "automated_decision",
        "puid",
    ):
        if not s.get(key):
            bad(key, f"the {key} field is required")
    ground = s.get("decision_ground")
    if ground == v.DECISION_GROUND_ILLEGAL:
        for key in ("illegal_content_legal_ground", "illegal_content_explanation"):
            if not s.get(key):
                bad(key, f"{key} is required for illegal content")
    if ground == v.DECISION_GROUND_INCOMPATIBLE:
        for key in ("incompatible_content_ground", "incompatible_content_explanation"):
            if not s.get(key):
                bad(key, f"{key} is required for incompatible content")
    if "DECISION_VISIBILITY_OTHER" in (s.get("decision_visibility") or []) and not s.get(
        "decision_visibility_other"
    ):
        bad("decision_visibility_other", "required when decision_visibility is other")
    for key, limit in _LIMITS.items():
        if key in s and (not isinstance(s[key], str) or len(s[key]) > limit):
            bad(key, f"{key} may not be greater than {limit} characters")
    for key in (
        "content_date",
        "application_date",
        "end_date_account_restriction",
        "end_date_service_restriction",
        "end_date_visibility_restriction",
    ):
        if key in s and (not isinstance(s[key], str) or not _DATE.match(s[key])):
            bad(key, f"the {key} does not match the format YYYY-MM-DD")
    puid = s.get("puid")
    if puid is not None and (
        not isinstance(puid, str) or not _PUID.match(puid) or len(puid) > v.MAX_PUID_CHARS
    ):
        bad("puid", "the puid format is invalid")
    return errors
