"""Exceptions raised by :mod:`client_scan`.

Every exception derives from :class:`ClientScanError`. Verification failures carry the
machine-readable ``code`` of the design's error table, and the index of the failing
message when there is one::

    ClientScanError
    ├── FrankingError              a franked message or report does not verify (code, message_index)
    │   ├── UnknownKey             unknown_key
    │   ├── StampExpired           stamp_expired
    │   ├── TimestampInvalid       timestamp_invalid
    │   ├── NotParty               not_party
    │   ├── StampInvalid           stamp_invalid
    │   ├── CommitmentMismatch     commitment_mismatch
    │   ├── PayloadInvalid         payload_invalid
    │   ├── AttachmentMismatch     attachment_mismatch
    │   └── MixedConversations     mixed_conversations
    ├── ReportFormatError          a report is malformed before any cryptography (code)
    │   └── ReportLimitExceeded    too many messages, attachments, or too long a comment
    ├── SealError                  a sealed report does not open (wrong key, altered, not sealed)
    ├── InvalidInput               an argument is malformed (wrong key length, out-of-range integer)
    ├── EnvelopeError              a ciphertext does not open (wrong key, altered, other commitment)
    ├── KeyringError               a franking keyring is misconfigured (no active key, duplicate id)
    ├── RecordNotFound             no local franked record with that id
    ├── KeyPinError                the service's report key differs from the pinned one
    ├── ListUpdateRejected         new hash-list bytes were refused (cause: a hashes.HashListError)
    └── SubmissionError            a report could not be submitted
        ├── SubmissionDeferred     retryable (network, 5xx, 429): kept in the outbox for retry
        │   └── SendPending        a message send was deferred; kept in the outbox for retry
        └── ReportRejected         refused for good (4xx): code, status, message_index
"""

from __future__ import annotations

from typing import ClassVar


class ClientScanError(Exception):
    """Base class of every exception raised by :mod:`client_scan`."""


class FrankingError(ClientScanError):
    """A franked message or report does not verify.

    ``code`` is the design's machine-readable error code; ``message_index`` names the
    failing message of a report, when the failure belongs to one message.
    """

    code: ClassVar[str] = "franking_error"

    def __init__(self, detail: str, *, message_index: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.message_index = message_index

    def with_index(self, message_index: int) -> FrankingError:
        """Return a copy of this error that names the failing message of a report."""
        return type(self)(self.detail, message_index=message_index)


class UnknownKey(FrankingError):
    """The stamp's key id is not in the keyring."""

    code = "unknown_key"


class StampExpired(FrankingError):
    """The timestamp is outside the key's validity or older than the retention window."""

    code = "stamp_expired"


class TimestampInvalid(FrankingError):
    """The timestamp lies in the future beyond the allowed clock skew."""

    code = "timestamp_invalid"


class NotParty(FrankingError):
    """The reporter is neither sender nor recipient, or is not the recipient of a reported
    message."""

    code = "not_party"


class StampInvalid(FrankingError):
    """The stamp does not verify over (c, s, r, conv, t, kid)."""

    code = "stamp_invalid"


class CommitmentMismatch(FrankingError):
    """The commitment does not open to the payload under the franking key."""

    code = "commitment_mismatch"


class PayloadInvalid(FrankingError):
    """The payload is not a valid version-1 payload."""

    code = "payload_invalid"


class AttachmentMismatch(FrankingError):
    """Attachment bytes do not hash to a digest committed in a (reported) message."""

    code = "attachment_mismatch"


class MixedConversations(FrankingError):
    """The messages of a report span more than one conversation."""

    code = "mixed_conversations"


FRANKING_ERRORS: tuple[type[FrankingError], ...] = (
    UnknownKey,
    StampExpired,
    TimestampInvalid,
    NotParty,
    StampInvalid,
    CommitmentMismatch,
    PayloadInvalid,
    AttachmentMismatch,
    MixedConversations,
)
"""The design's error table, in its order (which is also the order checks run in)."""


class ReportFormatError(ClientScanError):
    """A report is malformed: bad JSON, missing or mistyped fields, bad base64."""

    code: str = "report_invalid"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class ReportLimitExceeded(ReportFormatError):
    """A report exceeds a limit: messages, attachments, or comment length."""

    code = "report_too_large"


class SealError(ClientScanError):
    """A sealed report does not open: wrong key, altered, or not a sealed box at all."""

    code = "seal_invalid"


class InvalidInput(ClientScanError, ValueError):
    """An argument is malformed: a key of the wrong length, an integer out of range."""


class EnvelopeError(ClientScanError):
    """A ciphertext does not open: wrong key, altered, or delivered with another commitment."""


class KeyringError(ClientScanError, ValueError):
    """A franking keyring is misconfigured."""


class RecordNotFound(ClientScanError, LookupError):
    """No local franked record has that id."""


class KeyPinError(ClientScanError):
    """The service's report-sealing key differs from the pinned key for that key id."""


class ListUpdateRejected(ClientScanError):
    """New hash-list bytes were refused; ``__cause__`` is the ``HashListError``."""


class SubmissionError(ClientScanError):
    """A report could not be submitted."""


class SubmissionDeferred(SubmissionError):
    """A retryable failure (network, 5xx, 429): the report stays in the outbox."""

    def __init__(self, detail: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after_s = retry_after_s


class SendPending(SubmissionDeferred):
    """A message could not be handed to the relay yet. It is kept in the outbox under
    ``client_message_id`` and re-sent by the messenger's flush with the same id (the relay
    answers a repeat with the first stamp), so the app must not send it again."""

    def __init__(
        self, detail: str, *, client_message_id: str, retry_after_s: float | None = None
    ) -> None:
        super().__init__(detail, retry_after_s=retry_after_s)
        self.client_message_id = client_message_id


class ReportRejected(SubmissionError):
    """The service refused the report for good (a 4xx other than 429)."""

    def __init__(
        self, code: str, message: str, *, status: int, message_index: int | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.message_index = message_index
