"""The Standard Webhooks signature scheme, symmetric variant (spec 1.0.0, "Signature
scheme" and "Webhook headers"; https://www.standardwebhooks.com).

- A secret is 24 to 64 random bytes, shown to people as ``whsec_`` + standard base64.
- The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``: the id, the attempt's
  Unix time in whole seconds, and the exact body bytes sent.
- ``webhook-signature`` is a space-separated list of ``v1,<base64 HMAC-SHA256>``; a
  receiver accepts the message if any ``v1`` entry verifies (constant-time comparison)
  and the timestamp is within its tolerance (replay protection).

Pure: bytes and integers in, strings out; the clock and randomness are parameters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping

from report_service.escalation.webhooks.errors import InvalidWebhook, SignatureInvalid

SECRET_PREFIX = "whsec_"  # noqa: S105  (the format's prefix, not a secret)
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24  # the spec: "at least 24 bytes (192 bits, 512 maximum)"
MAX_SECRET_BYTES = 64
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 5 * 60
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
# The id must not contain "." (it is the delimiter of the signed content) and is ours,
# never user-controlled (spec: "not be user controlled, or ... not include any '.'").
MESSAGE_ID = re.compile(r"[A-Za-z0-9_\-]{1,128}")


def new_secret(random: Callable[[int], bytes]) -> str:
    """A fresh endpoint secret in its ``whsec_`` form."""
    return SECRET_PREFIX + base64.b64encode(random(SECRET_BYTES)).decode("ascii")


def parse_secret(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret (the prefix may be omitted).

    Raises:
        InvalidWebhook: not base64, or shorter than 24 / longer than 64 bytes.
    """
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidWebhook("a webhook secret is whsec_ followed by base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise InvalidWebhook(
            f"a webhook secret holds {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"
        )
    return key


def _check_id(msg_id: str) -> None:
    if not MESSAGE_ID.fullmatch(msg_id):
        raise InvalidWebhook("a webhook id is 1 to 128 of A-Z a-z 0-9 _ -")


def signed_content(msg_id: str, timestamp_s: int, body: bytes) -> bytes:
    """``{msg_id}.{timestamp}.{body}``, the bytes the HMAC covers.

    Raises:
        InvalidWebhook: the id is not of the allowed characters, or the time is negative.
    """
    _check_id(msg_id)
    if timestamp_s < 0:
        raise InvalidWebhook("the webhook timestamp is a non-negative integer")
    return f"{msg_id}.{timestamp_s}.".encode("ascii") + body


def sign(key: bytes, msg_id: str, timestamp_s: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one attempt.

    Raises:
        InvalidWebhook: see :func:`signed_content`.
    """
    mac = hmac.new(key, signed_content(msg_id, timestamp_s, body), hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION}," + base64.b64encode(mac).decode("ascii")


def headers(key: bytes, msg_id: str, timestamp_s: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        HEADER_ID: msg_id,
        HEADER_TIMESTAMP: str(timestamp_s),
        HEADER_SIGNATURE: sign(key, msg_id, timestamp_s, body),
    }


def verify(
    key: bytes,
    received: Mapping[str, str],
    body: bytes,
    *,
    now_s: int,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> str:
    """Check a received message as a receiver would; return its ``webhook-id``.

    ``received`` maps lower-case header names to values.

    Raises:
        SignatureInvalid: a header is missing or malformed, the timestamp is more than
            ``tolerance_s`` away from ``now_s``, or no ``v1`` signature verifies.
    """
    try:
        msg_id = received[HEADER_ID]
        stamp = received[HEADER_TIMESTAMP]
        listed = received[HEADER_SIGNATURE]
    except KeyError:
        raise SignatureInvalid("a webhook header is missing") from None
    if not stamp.isdigit() or len(stamp) > 12:
        raise SignatureInvalid("webhook-timestamp is not an integer")
    timestamp_s = int(stamp)
    if abs(now_s - timestamp_s) > tolerance_s:
        raise SignatureInvalid("webhook-timestamp is outside the tolerance")
    try:
        expected = sign(key, msg_id, timestamp_s, body).encode("ascii")
    except InvalidWebhook:
        raise SignatureInvalid("webhook-id is malformed") from None
    for entry in listed.split(" "):
        if entry.startswith(SIGNATURE_VERSION + ",") and hmac.compare_digest(
            entry.encode("ascii", "replace"), expected
        ):
            return msg_id
    raise SignatureInvalid("no webhook signature verifies")
