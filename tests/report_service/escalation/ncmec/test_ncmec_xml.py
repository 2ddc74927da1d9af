"""The CyberTipline documents against the package's schema: every generated report and
fileDetails validates and reads back to what was put in (odd unicode, XML-special
characters, characters XML cannot carry), the schema refuses what NCMEC would refuse,
and answers are parsed safely."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from report_service.escalation.ncmec.errors import SchemaViolation
from report_service.escalation.ncmec.model import (
    Classification,
    ContextMessage,
    CyberTipReport,
    FileDetails,
    FileHash,
    HashType,
    IncidentType,
    Person,
    ReportedUser,
    Reporter,
)
from report_service.escalation.ncmec.xml import (
    build_file_details,
    build_report,
    parse_response,
    validate,
    xml_text,
)

# Any code point, including C0 controls, XML specials, astral emoji, RTL marks.
ANY_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=60
)
IDENT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"]),
    min_size=1,
    max_size=40,
)
MS = st.integers(min_value=0, max_value=4_102_444_800_000)  # up to 2100
PERSON = st.builds(Person, IDENT, IDENT, st.just("tips@example.org"))

REPORTS = st.builds(
    CyberTipReport,
    incident_type=st.sampled_from(IncidentType),
    incident_at_ms=MS,
    reporter=st.builds(
        Reporter,
        reporting_person=PERSON,
        contact_person=st.none() | PERSON,
        company_template=st.none() | ANY_TEXT,
        legal_url=st.none() | st.just("https://example.org/legal"),
    ),
    reported_user=st.builds(
        ReportedUser,
        esp_identifier=IDENT,
        screen_name=st.none() | ANY_TEXT,
        esp_service=st.none() | ANY_TEXT,
        prior_reports=st.lists(st.integers(1, 2**62), max_size=3).map(tuple),
    ),
    messages=st.lists(
        st.builds(ContextMessage, IDENT, IDENT, MS, ANY_TEXT | st.just(""), st.booleans()),
        max_size=4,
    ).map(tuple),
    escalate_to_high_priority=st.none() | ANY_TEXT,
    chat_client=st.none() | ANY_TEXT,
    additional_info=st.none() | ANY_TEXT,
)


@given(REPORTS)
def test_every_generated_report_validates_and_reads_back(report: CyberTipReport) -> None:
    data = build_report(report)
    tree = validate(data, "report")
    user = report.reported_user
    assert tree.findtext("personOrUserReported/espIdentifier") == user.esp_identifier
    if user.screen_name is not None:
        assert tree.findtext("personOrUserReported/screenName") == xml_text(user.screen_name)
    prior = [int(x.text or "") for x in tree.findall("personOrUserReported/priorCTReports")]
    assert prior == list(user.prior_reports)
    assert tree.findtext("incidentSummary/incidentType") == report.incident_type.value
    content = tree.findtext("internetDetails/chatImIncident/content")
    if report.messages:
        assert content is not None
        for m in report.messages:
            assert xml_text(m.text)[:20] in content
    # children in the order of the description's sequence
    order = [c.tag for c in tree]
    expected = ["incidentSummary", "internetDetails", "reporter", "personOrUserReported"]
    assert [t for t in expected if t in order] == [t for t in order if t in expected]


@given(
    st.builds(
        FileDetails,
        report_id=st.integers(1, 2**62),
        file_id=IDENT,
        original_file_name=ANY_TEXT,
        viewed_by_esp=st.booleans(),
        publicly_available=st.booleans(),
        classification=st.none() | st.sampled_from(Classification),
        hashes=st.lists(
            st.builds(FileHash, st.sampled_from(HashType), st.text(string.hexdigits, min_size=1)),
            max_size=3,
        ).map(tuple),
        additional_info=st.lists(ANY_TEXT, max_size=2).map(tuple),
    )
)
def test_every_generated_file_details_validates(details: FileDetails) -> None:
    tree = validate(build_file_details(details), "fileDetails")
    assert tree.findtext("reportId") == str(details.report_id)
    assert tree.findtext("fileViewedByEsp") == str(details.viewed_by_esp).lower()
    hashes = [(h.get("hashType"), h.text) for h in tree.findall("originalFileHash")]
    assert hashes == [(h.hash_type.value, h.value) for h in details.hashes]


def test_the_schema_refuses_what_ncmec_would() -> None:
    good = (
        b"<report><incidentSummary><incidentType>Child Sex Trafficking</incidentType>"
        b"<incidentDateTime>2026-01-01T00:00:00Z</incidentDateTime></incidentSummary>"
        b"<reporter><reportingPerson><email>a@b.org</email></reportingPerson></reporter></report>"
    )
    validate(good, "report")
    out_of_order = good.replace(b"<incidentSummary>", b"<x/><incidentSummary>")
    unknown_type = good.replace(b"Child Sex Trafficking", b"Spam")
    local_time = good.replace(b"00:00:00Z", b"00:00:00")
    for bad in (out_of_order, unknown_type, local_time):
        with pytest.raises(SchemaViolation):
            validate(bad, "report")
    with pytest.raises(SchemaViolation, match="expected <fileDetails>"):
        validate(good, "fileDetails")


def test_answers_are_parsed() -> None:
    ok = parse_response(
        b"<reportResponse><responseCode>0</responseCode><responseDescription>Success"
        b"</responseDescription><reportId>42</reportId><fileId>f-1</fileId>"
        b"<hash>d41d8cd98f00b204e9800998ecf8427e</hash></reportResponse>"
    )
    assert (ok.ok, ok.report_id, ok.file_id) == (True, 42, "f-1")
    done = parse_response(
        b"<reportDoneResponse><responseCode>0</responseCode><reportId>42</reportId>"
        b"<files><fileId>a</fileId><fileId>b</fileId></files></reportDoneResponse>"
    )
    assert done.file_ids == ("a", "b")
    refused = parse_response(b"<reportResponse><responseCode>4100</responseCode></reportResponse>")
    assert not refused.ok
    assert refused.response_code == "4100"


@pytest.mark.parametrize(
    "body",
    [
        # entity expansion (billion laughs) and external entities are never resolved
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<reportResponse><responseCode>&b;</responseCode></reportResponse>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<reportResponse><responseCode>&x;</responseCode></reportResponse>",
        b"<reportResponse><responseCode>0</responseCode>" + b" " * 70_000 + b"</reportResponse>",
        b"<reportResponse><responseCode>zero</responseCode></reportResponse>",
        b"<html><body>Service Unavailable</body></html>",
        b"\xff\xfe not xml",
        b"",
    ],
)
def test_hostile_or_malformed_answers_are_refused(body: bytes) -> None:
    with pytest.raises(SchemaViolation):
        parse_response(body)


@given(st.text(max_size=50))
def test_xml_text_always_makes_serialisable_text(text: str) -> None:
    el = etree.Element("x")
    el.text = xml_text(text)
    assert etree.fromstring(etree.tostring(el)).text in (xml_text(text), None)
