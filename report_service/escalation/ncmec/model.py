"""A CyberTipline report as frozen values (pure).

The fields follow NCMEC's public description of the ESP reporting web service: a
``report`` document (incident summary, internet details, reporter, person or user
reported, additional information) opened with ``/submit``, then per file an ``/upload``
and a ``fileDetails`` document sent to ``/fileinfo``, then ``/finish``. Only the parts
Frankly can fill from verified facts are modelled.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class IncidentType(enum.StrEnum):
    """``incidentSummary/incidentType`` values Frankly reports."""

    CHILD_PORNOGRAPHY = "Child Pornography (possession, manufacture, and distribution)"
    CHILD_SEX_TRAFFICKING = "Child Sex Trafficking"
    ONLINE_ENTICEMENT = "Online Enticement of Children for Sexual Acts"


class Classification(enum.StrEnum):
    """The industry classification of a file (the ESP industry's categorisation scale):
    A = prepubescent minor, B = pubescent minor; 1 = sex act, 2 = lascivious exhibition."""

    A1 = "A1"
    A2 = "A2"
    B1 = "B1"
    B2 = "B2"


class HashType(enum.StrEnum):
    """``originalFileHash/@hashType`` values Frankly sends."""

    MD5 = "MD5"
    SHA256 = "SHA256"


@dataclass(frozen=True, slots=True)
class Person:
    """A reporting or contact person of the company (``reportingPerson``,
    ``contactPerson``)."""

    first_name: str
    last_name: str
    email: str
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Reporter:
    """The reporting company (``reporter``)."""

    reporting_person: Person
    contact_person: Person | None = None
    company_template: str | None = None
    terms_of_service: str | None = None
    legal_url: str | None = None


@dataclass(frozen=True, slots=True)
class ReportedUser:
    """The person or user reported: the platform's account id (the stamped sender id),
    its screen name and earlier CyberTipline report ids about it."""

    esp_identifier: str
    screen_name: str | None = None
    esp_service: str | None = None
    prior_reports: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ContextMessage:
    """One verified message (its text opened the sender's franking commitment and the
    platform's stamp verified): the only text Frankly states as fact."""

    sender_id: str
    recipient_id: str
    timestamp_ms: int
    text: str
    subject: bool


@dataclass(frozen=True, slots=True)
class CyberTipReport:
    """The ``report`` document (``/submit``)."""

    incident_type: IncidentType
    incident_at_ms: int
    reporter: Reporter
    reported_user: ReportedUser
    messages: tuple[ContextMessage, ...] = ()
    escalate_to_high_priority: str | None = None
    chat_client: str | None = None
    additional_info: str | None = None


@dataclass(frozen=True, slots=True)
class FileHash:
    """``originalFileHash``: a digest of the file as the ESP holds it."""

    hash_type: HashType
    value: str


@dataclass(frozen=True, slots=True)
class FileDetails:
    """The ``fileDetails`` document (``/fileinfo``) of one uploaded file."""

    report_id: int
    file_id: str
    original_file_name: str
    viewed_by_esp: bool
    publicly_available: bool
    classification: Classification | None
    hashes: tuple[FileHash, ...] = ()
    additional_info: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Response:
    """A parsed answer of the reporting service (``reportResponse`` or
    ``reportDoneResponse``)."""

    response_code: str
    description: str | None
    report_id: int | None
    file_id: str | None
    file_hash: str | None
    file_ids: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """``responseCode`` 0: success."""
        return self.response_code == "0"
