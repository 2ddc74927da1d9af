"""The statement builder and its mapping (pure): every statement passes the API's rules
(checked by this package's validator and by the stand-in database's own), every value is
in the documented enumerations, and nothing personal gets in, whatever the ids, policy
names and reasons."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from report_service.escalation.dsa import vocabulary as v
from report_service.escalation.dsa.builder import (
    StatementFacts,
    build_statement,
    validate_statement,
)
from report_service.escalation.dsa.config import STATEMENT_DECISIONS
from report_service.escalation.dsa.mapping import DsaMapping, MappingError, PolicyRef, load_mapping
from tests.report_service.escalation.dsa_test_server import check

MAPPING = load_mapping(None, STATEMENT_DECISIONS)
REASONS = [
    "child_safety",
    "ncii",
    "harassment",
    "hate",
    "violence",
    "terrorism",
    "self_harm",
    "spam",
    "scam",
    "other",
]
T0 = 1_767_225_600_000
T_MIN, T_MAX = 946_684_800_000, 2_145_916_800_000  # 2000-01-01 .. 2038-01-01

personal = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
    min_size=6,
    max_size=40,
)
policy_tail = st.from_regex(r"[a-z0-9_.\-]{0,20}", fullmatch=True)


def facts(
    decision: str, name: str, tail: str, reason: str, child: bool, t: int, media: list[str]
) -> StatementFacts:
    return StatementFacts(
        decision=decision,
        policy=f"{name}/{tail}"[:64],
        reason=reason,
        child_safety=child,
        content_at_ms=t,
        decided_at_ms=max(t, 1_577_836_800_000),  # the API wants 2020-01-01 or later
        media_types=tuple(media),
        hash_matched=bool(media) and child,
    )


@given(
    decision=st.sampled_from(sorted(STATEMENT_DECISIONS)),
    name=st.from_regex(r"[a-z0-9][a-z0-9_]{5,30}", fullmatch=True),
    tail=policy_tail,
    reason=st.one_of(st.sampled_from(REASONS), st.from_regex(r"[a-z_]{1,30}", fullmatch=True)),
    child=st.booleans(),
    t=st.integers(T_MIN, T_MAX - 10 * 86_400_000),
    media=st.lists(
        st.sampled_from(["image/png", "video/mp4", "audio/ogg", "application/pdf"]), max_size=4
    ),
    ended=st.booleans(),
)
def test_every_statement_is_valid_and_within_the_enumerations(
    decision: str,
    name: str,
    tail: str,
    reason: str,
    child: bool,
    t: int,
    media: list[str],
    ended: bool,
) -> None:
    f = facts(decision, name, tail, reason, child, t, media)
    if ended:
        f = dataclasses.replace(f, ended_at_ms=f.decided_at_ms + 86_400_000, corrects="p-1")
    s = build_statement(f, MAPPING, "frankly-sor-0123abcd")
    assert validate_statement(s) == {}
    assert check(s) == {}
    assert set(s.get("decision_visibility", [])) <= v.DECISION_VISIBILITY
    assert s.get("decision_provision", next(iter(v.DECISION_PROVISION))) in v.DECISION_PROVISION
    assert s.get("decision_account", next(iter(v.DECISION_ACCOUNT))) in v.DECISION_ACCOUNT
    assert s["decision_ground"] in v.DECISION_GROUND
    assert set(s["content_type"]) <= v.CONTENT_TYPE
    assert s["category"] in v.CATEGORY
    assert set(s.get("category_specification", [])) <= v.KEYWORD
    assert set(s["territorial_scope"]) <= v.TERRITORY
    assert s["source_type"] in v.SOURCE_TYPE
    assert s["automated_detection"] in v.AUTOMATED_DETECTION
    assert s["automated_decision"] in v.AUTOMATED_DECISION
    assert s.get("incompatible_content_illegal", "No") in v.INCOMPATIBLE_CONTENT_ILLEGAL
    if child:
        assert s["category"] == "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
        assert s["decision_ground"] == v.DECISION_GROUND_ILLEGAL
    if decision == "escalate_legal":
        assert s["decision_ground"] == v.DECISION_GROUND_ILLEGAL
    if ended:
        assert any(k.startswith("end_date_") for k in s)


@given(
    decision=st.sampled_from(sorted(STATEMENT_DECISIONS)),
    who=personal,
    reason=personal,
    child=st.booleans(),
    t=st.integers(T_MIN, T_MAX - 10 * 86_400_000),
)
def test_no_personal_value_ever_reaches_the_statement(
    decision: str, who: str, reason: str, child: bool, t: int
) -> None:
    # A moderator may type anything as a policy name, and a reason may be anything: the
    # statement cites neither unless the mapping lists it, so neither can leak.
    fixed = json.dumps(
        build_statement(facts(decision, "x", "", "other", child, t, []), MAPPING, "frankly-sor-1")
    )
    if who in fixed or reason in fixed:
        return  # a value that is the fixed text itself cannot be told apart from it
    f = StatementFacts(
        decision=decision,
        policy=f"{who}/1",
        reason=reason,
        child_safety=child,
        content_at_ms=t,
        decided_at_ms=max(t, 1_577_836_800_000),
    )
    flat = json.dumps(build_statement(f, MAPPING, "frankly-sor-1"), ensure_ascii=False)
    assert who not in flat
    assert reason not in flat


def test_a_corrected_statement_ends_the_restriction() -> None:
    f = StatementFacts(
        decision="suspend_sender",
        policy="hate/3",
        reason="hate",
        child_safety=False,
        content_at_ms=1_767_225_600_000,
        decided_at_ms=1_767_225_600_000,
        ended_at_ms=1_767_398_400_000,
        corrects="frankly-sor-aa",
    )
    s = build_statement(f, MAPPING, "frankly-sor-bb")
    assert validate_statement(s) == {}
    assert s["end_date_account_restriction"] == "2026-01-03"
    assert s["application_date"] == "2026-01-01"
    assert "reversed" in s["decision_facts"]
    assert "frankly-sor-aa" in s["decision_facts"]


def test_known_policies_are_cited_and_others_are_not() -> None:
    mapping = DsaMapping(policies={"harassment/1.2": PolicyRef("Community guidelines 4.2")})
    base = StatementFacts("warn_sender", "harassment/1.2", "harassment", False, T0, T0)
    cited = build_statement(base, mapping, "p1")
    assert cited["incompatible_content_ground"] == "Community guidelines 4.2"
    other = build_statement(dataclasses.replace(base, policy="harassment/9"), mapping, "p2")
    assert other["incompatible_content_ground"] == "Frankly community guidelines"


def test_no_violation_and_bad_puids_build_nothing() -> None:
    f = StatementFacts("no_violation", "x", "other", False, 1_767_225_600_000, 1_767_225_600_000)
    with pytest.raises(KeyError):
        build_statement(f, MAPPING, "p")
    g = StatementFacts("warn_sender", "x", "other", False, 1_767_225_600_000, 1_767_225_600_000)
    for bad in ("", "has space", "a/b", "x" * 501):
        with pytest.raises(ValueError, match="puid"):
            build_statement(g, MAPPING, bad)


def test_the_mapping_file_overrides_and_is_checked() -> None:
    doc = {
        "territorial_scope": ["DE", "AT"],
        "terms_url": "https://example.invalid/terms",
        "decisions": {
            "warn_sender": {
                "visibility": ["DECISION_VISIBILITY_CONTENT_LABELLED"],
                "visibility_other": None,
            }
        },
        "categories": {"spam": {"category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"}},
        "policies": {"spam/1": {"reference": "Terms 7.1"}},
    }
    m = load_mapping(json.dumps(doc).encode(), STATEMENT_DECISIONS)
    assert m.territorial_scope == ("DE", "AT")
    s = build_statement(
        StatementFacts(
            "warn_sender", "spam/1", "spam", False, 1_767_225_600_000, 1_767_225_600_000
        ),
        m,
        "p",
    )
    assert s["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_LABELLED"]
    assert s["category"] == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    assert s["incompatible_content_ground"] == "Terms 7.1"
    assert s["decision_ground_reference_url"] == "https://example.invalid/terms"
    assert check(s) == {}
    for bad in (
        b"not json",
        b"[]",
        json.dumps({"colour": 1}).encode(),
        json.dumps({"territorial_scope": ["US"]}).encode(),
        json.dumps({"categories": {"spam": {"category": "SPAM"}}}).encode(),
        json.dumps({"decisions": {"suspend_sender": {"account": "BANNED"}}}).encode(),
        json.dumps({"decisions": {"warn_sender": {"shade": 1}}}).encode(),
        json.dumps({"categories": {"hate": {"keywords": ["KEYWORD_NOPE"]}}}).encode(),
    ):
        with pytest.raises(MappingError):
            load_mapping(bad, STATEMENT_DECISIONS)
    with pytest.raises(MappingError, match="no DSA restriction"):
        load_mapping(None, STATEMENT_DECISIONS | {"ban_forever"})
