"""Endpoint secrets at rest: XChaCha20-Poly1305 under the active evidence master key of
the key file (``keys.json``), bound to the key id and the endpoint id, so a database copy
alone cannot forge webhooks and a ciphertext cannot be moved to another endpoint.

The master key is the one key the service already keeps out of the database for data at
rest; a domain label keeps these ciphertexts apart from wrapped evidence keys. Rotating the
master key keeps old keys in the key file; :func:`report_service.escalation.webhooks.store.
rewrap_secrets` moves secrets to the active key (the deliverer does it on every pass) so
that an old key can later be retired.

Pure: the nonce is a parameter.
"""

from __future__ import annotations

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

from client_scan.franking.encoding import mac_input
from report_service.escalation.webhooks.errors import SecretUnavailable

_LABEL = b"frankly/webhooks/v1/secret"
_VERSION = b"\x01"
NONCE_BYTES = 24


def _ad(master_kid: str, endpoint_id: int) -> bytes:
    return mac_input(_LABEL, master_kid.encode(), str(endpoint_id).encode())


def seal_secret(
    master_key: bytes, master_kid: str, endpoint_id: int, secret: bytes, nonce: bytes
) -> bytes:
    """Encrypt an endpoint's secret key bytes."""
    if len(nonce) != NONCE_BYTES:
        raise ValueError("nonce must be 24 bytes")
    sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
        secret, _ad(master_kid, endpoint_id), nonce, master_key
    )
    return _VERSION + nonce + sealed


def open_secret(master_key: bytes, master_kid: str, endpoint_id: int, sealed: bytes) -> bytes:
    """Decrypt an endpoint's secret key bytes.

    Raises:
        SecretUnavailable: malformed, altered, or not under this key for this endpoint.
    """
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != _VERSION:
        raise SecretUnavailable("the endpoint's stored secret is malformed")
    nonce = sealed[1 : 1 + NONCE_BYTES]
    try:
        return crypto_aead_xchacha20poly1305_ietf_decrypt(
            sealed[1 + NONCE_BYTES :], _ad(master_kid, endpoint_id), nonce, master_key
        )
    except CryptoError:
        raise SecretUnavailable("the endpoint's secret does not decrypt") from None
