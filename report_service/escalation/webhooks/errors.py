"""Exceptions of the webhooks package::

ServiceError (report_service.errors)
└── WebhookError                 base of this package
    ├── InvalidWebhook           bad URL, event type, secret or data: fix the input
    │                            (RequestRejected: 422 invalid_webhook over HTTP)
    ├── SignatureInvalid         a signature does not verify (receivers, tests)
    └── SecretUnavailable        an endpoint's secret cannot be decrypted: its master
                                 key is not in the key file
"""

from __future__ import annotations

from report_service.errors import RequestRejected, ServiceError


class WebhookError(ServiceError):
    """Base class of the webhooks package's exceptions."""


class InvalidWebhook(WebhookError, RequestRejected):
    """An endpoint URL, event type, secret or event data is not acceptable."""

    code = "invalid_webhook"
    status = 422

    def __init__(self, detail: str) -> None:
        RequestRejected.__init__(self, detail)


class SignatureInvalid(WebhookError):
    """No signature of the ``webhook-signature`` header verifies, or the timestamp is
    outside the tolerance."""


class SecretUnavailable(WebhookError):
    """The endpoint's secret is encrypted under a master key the key file no longer holds."""
