"""Errors of the CyberTipline package.

::

    NcmecError                      (ServiceError)
    ├── SchemaViolation             a document we built or received fails the XSD: a bug
    │                               on our side, or an answer we must not trust
    ├── NcmecUnavailable            5xx, timeout, connection error: retry later
    ├── NcmecRejected               4xx or a non-zero ``responseCode``: retrying the same
    │                               request will not help (``response_code`` names why)
    └── NotConfigured               no endpoint or credentials: nothing is sent
"""

from __future__ import annotations

from report_service.errors import ServiceError


class NcmecError(ServiceError):
    """Base class of this package's errors."""


class SchemaViolation(NcmecError):
    """An XML document does not validate against ``cybertipline.xsd``."""


class NcmecUnavailable(NcmecError):
    """NCMEC did not answer usefully (5xx, timeout, connection): a retry may succeed.

    ``answered``: NCMEC sent an HTTP answer (a 5xx), so the request was not acted on; a
    timeout or a broken connection leaves it unknown whether it was.
    """

    def __init__(self, message: str, *, answered: bool = False) -> None:
        super().__init__(message)
        self.answered = answered


class NcmecRejected(NcmecError):
    """NCMEC refused the request for good."""

    def __init__(self, message: str, response_code: str | None = None) -> None:
        super().__init__(message)
        self.response_code = response_code


class NotConfigured(NcmecError):
    """No CyberTipline endpoint or credentials are configured."""
