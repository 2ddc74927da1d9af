"""How Frankly's decisions and policies map onto DSA statement fields (pure).

The defaults below are a starting point a compliance officer reviews; a JSON file
(setting ``dsa_mapping_file``) overrides any part of them (docs/escalation.md, "DSA
statements of reasons"). Every value is checked against the API's enumerations
(:mod:`report_service.escalation.dsa.vocabulary`) when the mapping is loaded, so a typo
fails at start-up, never at submission time.

What decides each field:

- the **decision** (``warn_sender`` ...) gives the restriction: ``decision_visibility`` /
  ``decision_provision`` / ``decision_account`` (``decisions``);
- the **category key** gives ``category``, keywords and the ground: the policy's first
  segment (``harassment`` of ``harassment/1.2``) when it names a category, else the
  report reason of the item; a child-safety item always uses ``child_safety``
  (``categories``);
- ``escalate_legal`` always states the illegal-content ground (a matter for the law);
- a **policy** listed in ``policies`` names its own terms-of-service reference; any other
  policy is cited only through its category's generic text, so no free text typed by a
  moderator ever reaches the database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from report_service.errors import ConfigError
from report_service.escalation.dsa import vocabulary as v


class MappingError(ConfigError):
    """The DSA mapping file is unreadable or names a value the API does not allow."""


@dataclass(frozen=True, slots=True)
class Restriction:
    """What a decision restricts, in the API's terms, and a plain-words summary."""

    summary: str
    visibility: tuple[str, ...] = ()
    visibility_other: str | None = None
    provision: str | None = None
    account: str | None = None


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """The category, keywords and ground of one kind of violation."""

    category: str
    label: str
    keywords: tuple[str, ...] = ()
    illegal: bool = False
    legal_ground: str = "Applicable Union or national law"
    explanation: str = ""
    terms_ground: str = "Frankly community guidelines"
    also_illegal: bool = False


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """A known policy's terms-of-service reference (``incompatible_content_ground``)."""

    reference: str
    explanation: str = ""


DEFAULT_RESTRICTIONS: dict[str, Restriction] = {
    "warn_sender": Restriction(
        summary="a formal warning to the account",
        visibility=("DECISION_VISIBILITY_OTHER",),
        visibility_other="Formal warning to the account holder; the end-to-end encrypted "
        "message stays with its recipients",
    ),
    "restrict_sender": Restriction(
        summary="a partial suspension of the service (restricted messaging)",
        provision="DECISION_PROVISION_PARTIAL_SUSPENSION",
    ),
    "suspend_sender": Restriction(
        summary="a suspension of the account",
        account="DECISION_ACCOUNT_SUSPENDED",
    ),
    "escalate_legal": Restriction(
        summary="a referral to the provider's legal team for action under the law",
        visibility=("DECISION_VISIBILITY_OTHER",),
        visibility_other="Referred to the provider's legal team for action under applicable law",
    ),
}
"""The restriction of every decision that produces a statement (not ``no_violation``,
and not ``escalate_child_safety``, which only moves the item to another queue)."""

_TC = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
DEFAULT_CATEGORIES: dict[str, CategoryRule] = {
    "child_safety": CategoryRule(
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        "child safety",
        ("KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",),
        illegal=True,
        legal_ground="Directive 2011/93/EU on combating the sexual abuse and sexual "
        "exploitation of children, as transposed in national law",
        explanation="The message was found to contain or solicit child sexual abuse or "
        "exploitation.",
    ),
    "ncii": CategoryRule(
        "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        "non-consensual intimate imagery",
        ("KEYWORD_NON_CONSENSUAL_IMAGE_SHARING",),
        illegal=True,
        legal_ground="Directive (EU) 2024/1385, Article 5 (non-consensual sharing of "
        "intimate or manipulated material), as transposed in national law",
        explanation="The message shared intimate material without the consent of the person shown.",
    ),
    "terrorism": CategoryRule(
        "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "terrorist content",
        ("KEYWORD_TERRORIST_CONTENT",),
        illegal=True,
        legal_ground="Regulation (EU) 2021/784 and Directive (EU) 2017/541 (terrorist content)",
        explanation="The message was found to be terrorist content.",
    ),
    "harassment": CategoryRule(
        "STATEMENT_CATEGORY_CYBER_VIOLENCE",
        "harassment",
        ("KEYWORD_CYBER_HARASSMENT",),
        explanation="The message harassed its recipient.",
    ),
    "hate": CategoryRule(
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "hateful conduct",
        ("KEYWORD_HATE_SPEECH",),
        explanation="The message attacked people for a protected characteristic.",
    ),
    "violence": CategoryRule(
        "STATEMENT_CATEGORY_VIOLENCE",
        "violent threats",
        ("KEYWORD_INCITEMENT_VIOLENCE_HATRED",),
        explanation="The message threatened or incited violence.",
    ),
    "self_harm": CategoryRule(
        "STATEMENT_CATEGORY_SELF_HARM",
        "self-harm",
        ("KEYWORD_SUICIDE",),
        explanation="The message promoted or encouraged self-harm.",
    ),
    "spam": CategoryRule(_TC, "spam", (), explanation="The message was unsolicited bulk content."),
    "scam": CategoryRule(
        "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "scams and fraud",
        ("KEYWORD_PHISHING",),
        explanation="The message attempted to defraud its recipient.",
    ),
    "other": CategoryRule(_TC, "other violations of the terms", (), explanation=""),
}


@dataclass(frozen=True, slots=True)
class DsaMapping:
    """The whole mapping (see the module docstring)."""

    territorial_scope: tuple[str, ...] = tuple(v.EU_COUNTRIES)
    terms_url: str | None = None
    restrictions: Mapping[str, Restriction] = field(
        default_factory=lambda: dict(DEFAULT_RESTRICTIONS)
    )
    categories: Mapping[str, CategoryRule] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    policies: Mapping[str, PolicyRef] = field(default_factory=dict)
    fallback_category: str = "other"

    def rule_for(self, policy: str, reason: str, *, child_safety: bool) -> CategoryRule:
        """The category rule of a decision under ``policy`` on an item reported for
        ``reason`` (see the module docstring)."""
        if child_safety:
            return self.categories["child_safety"]
        head = policy.split("/", 1)[0]
        for key in (head, reason):
            if key in self.categories:
                return self.categories[key]
        return self.categories[self.fallback_category]

    def check(self, decisions: frozenset[str]) -> DsaMapping:
        """Validate every value against the API's enumerations and that each decision in
        ``decisions`` has a restriction; returns ``self``.

        Raises:
            MappingError: naming the first bad value.
        """
        missing = sorted(decisions - set(self.restrictions))
        if missing:
            raise MappingError(f"no DSA restriction for decisions {missing}")
        if not self.territorial_scope or not set(self.territorial_scope) <= v.TERRITORY:
            raise MappingError("territorial_scope must be EU/EEA two-letter country codes")
        for name, r in self.restrictions.items():
            _in(r.visibility, v.DECISION_VISIBILITY, f"{name}.visibility")
            if r.provision is not None:
                _in((r.provision,), v.DECISION_PROVISION, f"{name}.provision")
            if r.account is not None:
                _in((r.account,), v.DECISION_ACCOUNT, f"{name}.account")
            if not (r.visibility or r.provision or r.account):
                raise MappingError(f"{name}: a statement must restrict something")
            other = "DECISION_VISIBILITY_OTHER" in r.visibility
            if other != bool(r.visibility_other):
                raise MappingError(f"{name}: visibility_other goes with DECISION_VISIBILITY_OTHER")
            _short(r.visibility_other or "", v.MAX_GROUND_CHARS, f"{name}.visibility_other")
        for needed in ("child_safety", self.fallback_category):
            if needed not in self.categories:
                raise MappingError(f"the mapping needs a {needed!r} category")
        for name, c in self.categories.items():
            _in((c.category,), v.CATEGORY, f"{name}.category")
            _in(c.keywords, v.KEYWORD, f"{name}.keywords")
            _short(c.legal_ground, v.MAX_GROUND_CHARS, f"{name}.legal_ground")
            _short(c.terms_ground, v.MAX_GROUND_CHARS, f"{name}.terms_ground")
            _short(c.explanation, v.MAX_EXPLANATION_CHARS - 200, f"{name}.explanation")
        for name, p in self.policies.items():
            _short(p.reference, v.MAX_GROUND_CHARS, f"policies.{name}.reference")
            _short(p.explanation, v.MAX_EXPLANATION_CHARS - 200, f"policies.{name}.explanation")
        return self


def _in(values: tuple[str, ...], allowed: frozenset[str], where: str) -> None:
    bad = [x for x in values if x not in allowed]
    if bad:
        raise MappingError(f"{where}: {bad} not allowed by the DSA API")


def _short(text: str, limit: int, where: str) -> None:
    if not isinstance(text, str) or len(text) > limit:
        raise MappingError(f"{where}: text of at most {limit} characters expected")


def load_mapping(data: bytes | None, decisions: frozenset[str]) -> DsaMapping:
    """The default mapping, overridden by the JSON document ``data`` (``None``: defaults).

    The document may hold ``territorial_scope`` (list), ``terms_url``, and objects
    ``decisions``, ``categories`` and ``policies`` whose entries replace or extend the
    defaults field by field (docs/escalation.md shows one).

    Raises:
        MappingError: not JSON, an unknown key, or a value the API does not allow.
    """
    mapping = DsaMapping()
    if data is None:
        return mapping.check(decisions)
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MappingError(f"the DSA mapping is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise MappingError("the DSA mapping must be a JSON object")
    known = {"territorial_scope", "terms_url", "decisions", "categories", "policies"}
    if set(doc) - known:
        raise MappingError(f"unknown DSA mapping keys {sorted(set(doc) - known)}")
    try:
        restrictions = dict(mapping.restrictions)
        for name, spec in _obj(doc.get("decisions", {})).items():
            base = restrictions.get(name, Restriction(summary=name))
            restrictions[name] = replace(base, **_fields(spec, tuple_fields={"visibility"}))
        categories = dict(mapping.categories)
        for name, spec in _obj(doc.get("categories", {})).items():
            base_c = categories.get(name, CategoryRule(_TC, name))
            categories[name] = replace(base_c, **_fields(spec, tuple_fields={"keywords"}))
        policies = {
            name: PolicyRef(**_fields(spec, tuple_fields=set()))
            for name, spec in _obj(doc.get("policies", {})).items()
        }
        scope = doc.get("territorial_scope", list(mapping.territorial_scope))
        if not isinstance(scope, list) or not all(isinstance(c, str) for c in scope):
            raise MappingError("territorial_scope must be a list of country codes")
        terms_url = doc.get("terms_url")
        if terms_url is not None and not isinstance(terms_url, str):
            raise MappingError("terms_url must be a string")
        mapping = DsaMapping(
            territorial_scope=tuple(scope),
            terms_url=terms_url,
            restrictions=restrictions,
            categories=categories,
            policies=policies,
        )
    except TypeError as exc:  # an unknown field name
        raise MappingError(f"bad DSA mapping entry: {exc}") from None
    return mapping.check(decisions)


def _obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MappingError("decisions, categories and policies must be JSON objects")
    return value


def _fields(spec: Any, *, tuple_fields: set[str]) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise MappingError("each mapping entry must be a JSON object")
    return {
        k: tuple(x) if k in tuple_fields and isinstance(x, list) else x for k, x in spec.items()
    }
