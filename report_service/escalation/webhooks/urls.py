"""Which endpoint URLs the service will send to (pure).

``https`` always; plain ``http`` only to a loopback host (127.0.0.0/8, ``::1``,
``localhost``: a receiver on the same machine, tests, the demo) or when the operator set
``webhook_allow_http`` (a test network; the events then travel unencrypted, though still
signed). No user name or password in the URL (it would be a secret in the database and in
``list``), no fragment, at most 2048 characters. Redirects are never followed when
sending, so an endpoint cannot send the service elsewhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from report_service.escalation.webhooks.errors import InvalidWebhook
from report_service.settings import is_loopback

MAX_URL_CHARS = 2048


def check_url(url: str, *, allow_http: bool = False) -> str:
    """``url`` if the service may POST webhooks to it.

    Raises:
        InvalidWebhook: not http(s), http to a non-loopback host without
            ``allow_http``, credentials or a fragment in it, no host, or too long.
    """
    if len(url) > MAX_URL_CHARS or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidWebhook(f"a webhook URL has at most {MAX_URL_CHARS} characters, no spaces")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        raise InvalidWebhook("the webhook URL cannot be parsed") from None
    if parts.scheme not in ("https", "http"):
        raise InvalidWebhook("a webhook URL starts with https://")
    if not host:
        raise InvalidWebhook("the webhook URL names no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhook("no user name or password in a webhook URL")
    if parts.fragment:
        raise InvalidWebhook("no #fragment in a webhook URL")
    if parts.scheme == "http" and not (allow_http or is_loopback(host)):
        raise InvalidWebhook(
            "a webhook URL must use https (http only to a loopback address, or with "
            "webhook_allow_http for a test network)"
        )
    return url
