"""The CyberTipline request builder and response parser (pure: values in, bytes out).

Every document built here is validated against ``schema/cybertipline.xsd`` before it is
returned, and every answer is parsed with a hardened parser (no entities, no DTD, no
network, no huge trees, a size limit before parsing) and validated before it is read.
Text is passed through :func:`xml_text`, which replaces the code points XML 1.0 cannot
carry (C0 controls but tab, newline and carriage return; U+FFFE, U+FFFF; surrogates)
with U+FFFD: the document stays well formed whatever a message held.
"""

from __future__ import annotations

import functools
import re
import threading
from datetime import UTC, datetime
from importlib import resources

from lxml import etree

from report_service.escalation.ncmec.errors import SchemaViolation
from report_service.escalation.ncmec.model import (
    CyberTipReport,
    FileDetails,
    Person,
    Response,
)

MAX_RESPONSE_BYTES = 64 * 1024
MAX_TEXT_CHARS = 3000
MAX_CONTENT_CHARS = 60_000
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    """``text`` with every code point XML 1.0 cannot hold replaced by U+FFFD."""
    return _INVALID_XML.sub("\ufffd", text)


def iso_utc(ms: int) -> str:
    """``2026-01-01T00:00:00Z`` for milliseconds since the epoch."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def _schema_bytes() -> bytes:
    return resources.files(__package__).joinpath("schema/cybertipline.xsd").read_bytes()


_LOCAL = threading.local()


def schema() -> etree.XMLSchema:
    """The package's XSD, parsed once per thread (a validator keeps its error log, so
    threads do not share one)."""
    xsd: etree.XMLSchema | None = getattr(_LOCAL, "schema", None)
    if xsd is None:
        xsd = etree.XMLSchema(etree.fromstring(_schema_bytes(), _safe_parser()))
        _LOCAL.schema = xsd
    return xsd


def _safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_pis=True,
    )


def validate(document: bytes, root: str) -> etree._Element:
    """Parse ``document`` safely and check it against the schema with root ``root``.

    Raises:
        SchemaViolation: too large, not well formed, a DTD, another root, or invalid.
    """
    if len(document) > MAX_RESPONSE_BYTES * 16:
        raise SchemaViolation("document too large")
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        raise SchemaViolation("a DTD or entity declaration is not accepted")
    try:
        tree = etree.fromstring(document, _safe_parser())
    except etree.XMLSyntaxError as exc:
        raise SchemaViolation(f"not well-formed XML: {exc.msg}") from None
    tag = tree.tag if isinstance(tree.tag, str) else "?"
    if tag != root:
        raise SchemaViolation(f"expected <{root}>, got <{tag[:64]}>")
    xsd = schema()
    if not xsd.validate(tree):
        err = xsd.error_log.last_error
        where = "" if err is None else f" (line {err.line}: {err.message})"
        raise SchemaViolation(f"<{root}> does not match cybertipline.xsd{where}")
    return tree


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = xml_text(text)
    return el


def _person(parent: etree._Element, tag: str, p: Person) -> None:
    el = _sub(parent, tag)
    _sub(el, "firstName", p.first_name)
    _sub(el, "lastName", p.last_name)
    if p.phone:
        _sub(el, "phone", p.phone)
    _sub(el, "email", p.email)


def transcript(report: CyberTipReport) -> str:
    """The verified messages as plain lines: ``time sender -> recipient: text``, the
    reported ones marked ``[reported]``; cut at :data:`MAX_CONTENT_CHARS`."""
    lines = []
    for m in report.messages:
        mark = " [reported]" if m.subject else ""
        lines.append(f"{iso_utc(m.timestamp_ms)} {m.sender_id} -> {m.recipient_id}{mark}: {m.text}")
    text = "\n".join(lines)
    return text[:MAX_CONTENT_CHARS]


def build_report(report: CyberTipReport) -> bytes:
    """The ``report`` document for ``/submit``, UTF-8, validated.

    Raises:
        SchemaViolation: the values do not make a valid document (a bug upstream).
    """
    root = etree.Element("report")
    summary = _sub(root, "incidentSummary")
    _sub(summary, "incidentType", report.incident_type.value)
    if report.escalate_to_high_priority:
        _sub(summary, "escalateToHighPriority", report.escalate_to_high_priority[:MAX_TEXT_CHARS])
    _sub(summary, "incidentDateTime", iso_utc(report.incident_at_ms))
    if report.messages or report.chat_client:
        chat = _sub(_sub(root, "internetDetails"), "chatImIncident")
        if report.chat_client:
            _sub(chat, "chatClient", report.chat_client)
        if report.messages:
            _sub(chat, "content", transcript(report))
            _sub(
                chat,
                "additionalInfo",
                "Each message above was verified by message franking: its text opens the "
                "sender's commitment and the platform's stamp over sender, recipient, "
                "conversation and time. The reporting user's own words are not included.",
            )
    rep = report.reporter
    reporter = _sub(root, "reporter")
    _person(reporter, "reportingPerson", rep.reporting_person)
    if rep.contact_person is not None:
        _person(reporter, "contactPerson", rep.contact_person)
    if rep.company_template:
        _sub(reporter, "companyTemplate", rep.company_template)
    if rep.terms_of_service:
        _sub(reporter, "termsOfService", rep.terms_of_service)
    if rep.legal_url:
        _sub(reporter, "legalURL", rep.legal_url)
    user = report.reported_user
    reported = _sub(root, "personOrUserReported")
    _sub(reported, "espIdentifier", user.esp_identifier)
    if user.esp_service:
        _sub(reported, "espService", user.esp_service)
    if user.screen_name:
        _sub(reported, "screenName", user.screen_name)
    for prior in user.prior_reports:
        _sub(reported, "priorCTReports", str(prior))
    if report.additional_info:
        _sub(root, "additionalInfo", report.additional_info)
    return _finish(root, "report")


def build_file_details(details: FileDetails) -> bytes:
    """The ``fileDetails`` document for ``/fileinfo``, UTF-8, validated.

    Raises:
        SchemaViolation: the values do not make a valid document (a bug upstream).
    """
    root = etree.Element("fileDetails")
    _sub(root, "reportId", str(details.report_id))
    _sub(root, "fileId", details.file_id)
    _sub(root, "originalFileName", details.original_file_name)
    _sub(root, "fileViewedByEsp", "true" if details.viewed_by_esp else "false")
    _sub(root, "publiclyAvailable", "true" if details.publicly_available else "false")
    if details.classification is not None:
        _sub(root, "industryClassification", details.classification.value)
    for h in details.hashes:
        _sub(root, "originalFileHash", h.value).set("hashType", h.hash_type.value)
    for info in details.additional_info:
        _sub(root, "additionalInfo", info)
    return _finish(root, "fileDetails")


def _finish(root: etree._Element, name: str) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    validate(data, name)
    return data


def parse_response(body: bytes) -> Response:
    """Read a ``reportResponse`` or ``reportDoneResponse``.

    Raises:
        SchemaViolation: larger than :data:`MAX_RESPONSE_BYTES`, not XML, or not one of
            the two answers as the schema describes them.
    """
    if len(body) > MAX_RESPONSE_BYTES:
        raise SchemaViolation("answer larger than 64 KiB")
    root = b"reportDoneResponse" if b"<reportDoneResponse" in body[:512] else b"reportResponse"
    tree = validate(body, root.decode())

    def text(tag: str) -> str | None:
        el = tree.find(tag)
        return None if el is None or el.text is None else el.text.strip()

    rid = text("reportId")
    return Response(
        response_code=text("responseCode") or "",
        description=text("responseDescription"),
        report_id=None if rid is None else int(rid),
        file_id=text("fileId"),
        file_hash=text("hash"),
        file_ids=tuple((el.text or "").strip() for el in tree.findall("files/fileId")),
    )
