"""Reports sealed to the service's X25519 key (DESIGN.md, "Reports").

libsodium's ``crypto_box_seal`` (PyNaCl :class:`~nacl.public.SealedBox`): anonymous
public-key encryption, so only the service can open a report and the relay that carries
it learns nothing.
"""

from __future__ import annotations

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from client_scan.errors import InvalidInput, SealError

X25519_KEY_BYTES = 32


def seal_report(report_json: bytes, service_public_key: bytes) -> bytes:
    """Seal report JSON to the service's public key.

    Raises:
        InvalidInput: the public key is not 32 bytes.
    """
    if len(service_public_key) != X25519_KEY_BYTES:
        raise InvalidInput("service public key must be 32 bytes")
    return SealedBox(PublicKey(service_public_key)).encrypt(report_json)


def open_sealed_report(sealed: bytes, private_key: bytes) -> bytes:
    """Open a sealed report with the service's private key.

    Raises:
        SealError: the bytes are not a sealed box for this key, or were altered.
    """
    if len(private_key) != X25519_KEY_BYTES:
        raise InvalidInput("service private key must be 32 bytes")
    try:
        return SealedBox(PrivateKey(private_key)).decrypt(sealed)
    except (CryptoError, ValueError, TypeError) as exc:
        raise SealError("report is not sealed to this service key, or was altered") from exc
