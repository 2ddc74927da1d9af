"""Reference E2EE envelope for demos and tests (DESIGN.md, "Send").

XChaCha20-Poly1305 over ``fk || P`` with the commitment ``c`` as associated data, so a
ciphertext delivered with another commitment fails to open (sender binding, as in the
IETF MIMI franking design). A real app uses its own E2EE session and binds ``c`` the same
way: pass it as the AEAD's associated data.

Wire form: ``0x01 || nonce (24 bytes) || ciphertext-with-tag``.
"""

from __future__ import annotations

import os

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

from client_scan.errors import EnvelopeError, InvalidInput
from client_scan.franking.commitment import FRANKING_KEY_BYTES

ENVELOPE_VERSION = 1
SESSION_KEY_BYTES = 32
NONCE_BYTES = 24
_TAG_BYTES = 16


def seal_envelope(
    session_key: bytes, franking_key: bytes, payload: bytes, commitment: bytes, nonce: bytes
) -> bytes:
    """Encrypt ``franking_key || payload`` under ``session_key`` with ``commitment`` as AD.

    ``nonce`` must be 24 fresh random bytes (see :func:`seal_envelope_random`).

    Raises:
        InvalidInput: a key or the nonce has the wrong length.
    """
    if len(session_key) != SESSION_KEY_BYTES or len(nonce) != NONCE_BYTES:
        raise InvalidInput("session key must be 32 bytes and nonce 24 bytes")
    if len(franking_key) != FRANKING_KEY_BYTES:
        raise InvalidInput("franking key must be 32 bytes")
    body = crypto_aead_xchacha20poly1305_ietf_encrypt(
        franking_key + payload, commitment, nonce, session_key
    )
    return bytes([ENVELOPE_VERSION]) + nonce + body


def seal_envelope_random(
    session_key: bytes, franking_key: bytes, payload: bytes, commitment: bytes
) -> bytes:
    """:func:`seal_envelope` with a fresh random nonce."""
    return seal_envelope(session_key, franking_key, payload, commitment, os.urandom(NONCE_BYTES))


def open_envelope(session_key: bytes, ciphertext: bytes, commitment: bytes) -> tuple[bytes, bytes]:
    """Decrypt an envelope delivered with ``commitment``; return ``(franking_key, payload)``.

    Raises:
        EnvelopeError: wrong version or length, wrong key, altered ciphertext, or a
            ciphertext that was sealed with another commitment.
    """
    if len(session_key) != SESSION_KEY_BYTES:
        raise EnvelopeError("session key must be 32 bytes")
    if len(ciphertext) < 1 + NONCE_BYTES + _TAG_BYTES + FRANKING_KEY_BYTES:
        raise EnvelopeError("ciphertext is too short")
    if ciphertext[0] != ENVELOPE_VERSION:
        raise EnvelopeError(f"unknown envelope version {ciphertext[0]}")
    nonce = ciphertext[1 : 1 + NONCE_BYTES]
    try:
        plain = crypto_aead_xchacha20poly1305_ietf_decrypt(
            ciphertext[1 + NONCE_BYTES :], commitment, nonce, session_key
        )
    except CryptoError as exc:
        raise EnvelopeError("ciphertext does not open with this key and commitment") from exc
    return plain[:FRANKING_KEY_BYTES], plain[FRANKING_KEY_BYTES:]
