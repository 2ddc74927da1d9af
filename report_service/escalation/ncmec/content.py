"""The report's contents, rebuilt from the database and the encrypted evidence.

Nothing here is stored: message text and file bytes are decrypted through the review
package's :class:`~report_service.review.media.evidence_access.EvidenceReader` when a report is
sent or exported, and dropped when that is done. Only verified facts go in: the texts of
the messages whose franking verified (the item's reported message and the context the
reporter included), never the reporter's comment or device hints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from client_scan.bounded_json import JsonInputError, parse_json
from report_service.errors import EvidenceDestroyed
from report_service.escalation.ncmec import store as ncmec_store
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
from report_service.escalation.ncmec.models import NcmecFile, NcmecReport
from report_service.review.items import store as item_store
from report_service.review.media.evidence_access import EvidenceReader
from report_service.storage.models import ReviewItem

PAYLOAD_DEPTH = 256


@dataclass(frozen=True, slots=True)
class CompanyProfile:
    """What the settings say about the reporting company (``FRANKLY_NCMEC_*``)."""

    first_name: str
    last_name: str
    email: str
    company_template: str | None = None
    legal_url: str | None = None
    terms_of_service: str | None = None
    esp_service: str | None = None

    def reporter(self) -> Reporter:
        """The ``reporter`` block."""
        person = Person(self.first_name, self.last_name, self.email)
        return Reporter(
            reporting_person=person,
            company_template=self.company_template,
            terms_of_service=self.terms_of_service,
            legal_url=self.legal_url,
        )


def _payload_text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        obj: Any = parse_json(raw, max_bytes=None, max_depth=PAYLOAD_DEPTH)
    except JsonInputError:
        return None
    body = obj.get("body") if isinstance(obj, dict) else None
    return body if isinstance(body, str) else None


def verified_messages(
    session: Session, evidence: EvidenceReader, item: ReviewItem
) -> tuple[ContextMessage, ...]:
    """The item's verified transcript, oldest first (one entry per stamped message).

    Raises:
        EvidenceDestroyed: no message text of the item can be decrypted any more.
    """
    reports = item_store.reports_of(session, item.id)
    rows = item_store.messages_of(session, [r.report_id for r in reports])
    seen: set[tuple[str, str, str]] = set()
    out: list[ContextMessage] = []
    destroyed = False
    for r in sorted(rows, key=lambda m: (m.timestamp_ms, m.id)):
        key = (r.commitment, r.sender_id, r.conversation_id)
        if key in seen:
            continue
        try:
            text = _payload_text(evidence.read(session, r.report_id, "payload", r.payload_id))
        except EvidenceDestroyed:
            destroyed = True
            continue
        if text is None:
            continue
        seen.add(key)
        subject = key == (item.commitment, item.sender_id, item.conversation_id)
        out.append(ContextMessage(r.sender_id, r.recipient_id, r.timestamp_ms, text, subject))
    if destroyed and not out:
        raise EvidenceDestroyed("the evidence of this item was destroyed")
    return tuple(out)


def build(
    session: Session,
    evidence: EvidenceReader,
    profile: CompanyProfile,
    row: NcmecReport,
) -> CyberTipReport:
    """The ``report`` values of ``row``.

    Raises:
        EvidenceDestroyed: the item's message evidence is gone.
    """
    item = item_store.get_item(session, row.item_id)
    return CyberTipReport(
        incident_type=IncidentType(row.incident_type),
        incident_at_ms=row.incident_at,
        reporter=profile.reporter(),
        reported_user=ReportedUser(
            esp_identifier=row.sender_id,
            screen_name=row.screen_name,
            esp_service=profile.esp_service,
            prior_reports=tuple(ncmec_store.prior_reports(session, row.sender_id, row.id)),
        ),
        messages=verified_messages(session, evidence, item),
        escalate_to_high_priority=row.high_priority,
        chat_client=profile.esp_service,
    )


def file_bytes(session: Session, evidence: EvidenceReader, f: NcmecFile) -> bytes:
    """The decrypted bytes of one file.

    Raises:
        EvidenceDestroyed: the evidence is gone, or no longer matches its SHA-256.
    """
    import hashlib

    data = evidence.read(session, f.source_report_id, "attachment", f.sha256)
    if data is None or hashlib.sha256(data).hexdigest() != f.sha256:
        raise EvidenceDestroyed(f"the file {f.sha256[:16]}... is no longer held")
    return data


def file_details(
    row: NcmecReport,
    f: NcmecFile,
    ncmec_report_id: int,
    ncmec_file_id: str,
    md5: str | None = None,
) -> FileDetails:
    """The ``fileDetails`` values of one file (``md5``: when the row holds none yet)."""
    hashes = [FileHash(HashType.SHA256, f.sha256)]
    if md5 or f.md5:
        hashes.insert(0, FileHash(HashType.MD5, md5 or f.md5 or ""))
    return FileDetails(
        report_id=ncmec_report_id,
        file_id=ncmec_file_id,
        original_file_name=f.file_name,
        viewed_by_esp=f.viewed_by_esp,
        publicly_available=f.publicly_available,
        classification=None if f.classification is None else Classification(f.classification),
        hashes=tuple(hashes),
        additional_info=(f"Attachment of a verified message; media type {f.mime}.",),
    )
