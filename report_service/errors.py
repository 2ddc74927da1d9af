"""Exceptions raised by :mod:`report_service`.

Every exception derives from :class:`ServiceError`; subclasses are chosen by what the
caller (usually the HTTP layer, which maps them to status codes in one place,
:mod:`report_service.http_errors`) should do next::

    ServiceError
    ├── ConfigError                settings or the key file are unusable: fix and restart
    │   ├── PlaceholderSecret      a placeholder secret outside development
    │   ├── KeyFileError           the key file is missing, malformed or has loose permissions
    │   └── LogNotConfigured       no transparency log key or log yet: run `frankly log init`
    ├── StorageError               the database is unreachable or its schema is out of date
    ├── DuplicateReport            (internal) the report id is already stored: answer the first
                                   outcome instead
    ├── AuthError                  no or unknown bearer token (401)
    ├── NotFound                   no such resource for this caller (404, never 403)
    ├── Conflict                   the resource already exists (409), e.g. a user name
    ├── RequestRejected            a request is refused for good (4xx with ``code``)
    │   ├── BodyTooLarge           413 body_too_large
    │   ├── UnsupportedMediaType   415 unsupported_media_type
    │   ├── ReporterMismatch       422 reporter_mismatch
    │   ├── InvalidRequest         400/422 with its own code
    │   ├── EvidenceHeld           409 evidence_held: a preservation hold keeps it
    │   ├── IdempotencyConflict    409 client_message_id_reused: same id, different send
    │   └── LogRejected            422 log_rejected: a list version the log will not append
    ├── RateLimited                429 with ``retry_after_s``
    │   └── QuotaExceeded          429 relay_sender_quota / relay_inbox_full
    ├── EvidenceDestroyed          the wrapped data key of a report was deleted
    └── BankError                  a hash bank cannot be loaded or updated
"""

from __future__ import annotations

import math
from typing import ClassVar


class ServiceError(Exception):
    """Base class of every exception raised by :mod:`report_service`."""


class ConfigError(ServiceError):
    """Settings or key material are unusable."""


class PlaceholderSecret(ConfigError, ValueError):
    """A secret still holds a placeholder value outside the development environment."""


class KeyFileError(ConfigError):
    """The key file is missing, malformed, or readable by others."""


class LogNotConfigured(ConfigError):
    """The transparency log has no key or was not initialised (``frankly log init``)."""


class StorageError(ServiceError):
    """The database is unreachable or its schema is out of date."""


class DuplicateReport(ServiceError):
    """The report id is already stored; the caller answers with the first outcome."""


class AuthError(ServiceError):
    """The request carries no bearer token or an unknown one."""


class NotFound(ServiceError, LookupError):
    """No such resource for this caller (reported as 404 so that existence does not leak)."""


class Conflict(ServiceError):
    """The resource already exists."""


class RequestRejected(ServiceError):
    """A request is refused for good; ``code`` is machine-readable, ``status`` the HTTP status."""

    code: str = "invalid_request"
    status: int = 400

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class BodyTooLarge(RequestRejected):
    """The request body exceeds the configured limit."""

    code = "body_too_large"
    status = 413


class UnsupportedMediaType(RequestRejected):
    """The request body has the wrong content type."""

    code = "unsupported_media_type"
    status = 415


class ReporterMismatch(RequestRejected):
    """The report's reporter_id is not the authenticated user."""

    code = "reporter_mismatch"
    status = 422


class InvalidRequest(RequestRejected):
    """A malformed request (bad JSON, bad base64, unknown recipient)."""


class IdempotencyConflict(RequestRejected):
    """A relay send reuses a ``client_message_id`` of the same sender for another message."""

    code = "client_message_id_reused"
    status = 409


class RateLimited(ServiceError):
    """The caller exceeded its rate limit; retry after ``retry_after_s`` seconds."""

    code: ClassVar[str] = "rate_limited"

    def __init__(self, retry_after_s: float) -> None:
        # Whole seconds, rounded up and at least 1: the same figure as ``Retry-After``.
        self.retry_after_whole_s = max(1, math.ceil(retry_after_s))
        super().__init__(f"rate limit exceeded; retry after {self.retry_after_whole_s} s")
        self.retry_after_s = retry_after_s


class QuotaExceeded(RateLimited):
    """A relay quota is used up: the sender's sends per window (``relay_sender_quota``) or
    the recipient's queued messages or bytes (``relay_inbox_full``)."""

    code: ClassVar[str] = "relay_quota"

    def __init__(self, detail: str, *, code: str, retry_after_s: float) -> None:
        RateLimited.__init__(self, retry_after_s)
        self.args = (detail,)
        self.quota_code = code


class EvidenceHeld(RequestRejected):
    """A report's evidence is under an active preservation hold and may not be destroyed
    until the hold is released or expires; ``hold_id`` and ``expires_at`` (ms, ``None`` =
    until released) name the hold that keeps it."""

    code = "evidence_held"
    status = 409

    def __init__(self, detail: str, *, hold_id: int, expires_at: int | None) -> None:
        super().__init__(detail)
        self.hold_id = hold_id
        self.expires_at = expires_at


class EvidenceDestroyed(ServiceError):
    """The evidence of a report cannot be decrypted: its wrapped data key was deleted."""


class BankError(ServiceError):
    """A hash bank cannot be loaded or updated."""


class LogRejected(RequestRejected):
    """The transparency log refuses to append a list version: not signed by enough trusted
    curators, not the successor of the version logged before, or another list under a
    version already logged."""

    code = "log_rejected"
    status = 422
