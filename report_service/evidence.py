"""Evidence encryption at rest (envelope encryption).

Each report gets a fresh 32-byte data key. Every piece of evidence (payload, attachment,
comment, device hints) is encrypted under it with XChaCha20-Poly1305, its associated data
binding the report id, the kind and the reference, so that rows cannot be swapped between
reports or slots. The data key is wrapped by the active master key (same AEAD, bound to
the report id and the master key id). Deleting the wrapped key destroys the evidence:
without it no one, including the operator, can decrypt the blobs.

Pure: nonces and data keys are parameters; :func:`new_data_key` and :func:`new_nonce`
are the ``os.urandom`` wrappers.
"""

from __future__ import annotations

import os

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)
from nacl.exceptions import CryptoError

from client_scan.franking.encoding import mac_input
from report_service.errors import EvidenceDestroyed

KEY_BYTES = 32
NONCE_BYTES = 24
_VERSION = b"\x01"
_WRAP_LABEL = b"frankly/evidence/v1/wrap"
_BLOB_LABEL = b"frankly/evidence/v1/blob"


def new_data_key() -> bytes:
    """A fresh random data key."""
    return os.urandom(KEY_BYTES)


def new_nonce() -> bytes:
    """A fresh random 24-byte nonce."""
    return os.urandom(NONCE_BYTES)


def _seal(key: bytes, plaintext: bytes, ad: bytes, nonce: bytes) -> bytes:
    if len(key) != KEY_BYTES or len(nonce) != NONCE_BYTES:
        raise ValueError("key must be 32 bytes and nonce 24 bytes")
    return _VERSION + nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, nonce, key)


def _open(key: bytes, sealed: bytes, ad: bytes) -> bytes:
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != _VERSION:
        raise EvidenceDestroyed("evidence ciphertext is malformed")
    nonce = sealed[1 : 1 + NONCE_BYTES]
    try:
        return crypto_aead_xchacha20poly1305_ietf_decrypt(sealed[1 + NONCE_BYTES :], ad, nonce, key)
    except CryptoError as exc:
        raise EvidenceDestroyed("evidence does not decrypt with this key") from exc


def wrap_data_key(
    master_key: bytes, master_kid: str, report_id: str, data_key: bytes, nonce: bytes
) -> bytes:
    """Wrap ``data_key`` for ``report_id`` under the master key."""
    ad = mac_input(_WRAP_LABEL, master_kid.encode(), report_id.encode())
    return _seal(master_key, data_key, ad, nonce)


def unwrap_data_key(master_key: bytes, master_kid: str, report_id: str, wrapped: bytes) -> bytes:
    """Unwrap a report's data key.

    Raises:
        EvidenceDestroyed: the wrapped key does not open (wrong master key, altered).
    """
    ad = mac_input(_WRAP_LABEL, master_kid.encode(), report_id.encode())
    return _open(master_key, wrapped, ad)


def seal_blob(
    data_key: bytes, report_id: str, kind: str, ref: str, plaintext: bytes, nonce: bytes
) -> bytes:
    """Encrypt one piece of evidence, bound to its report, kind and reference."""
    ad = mac_input(_BLOB_LABEL, report_id.encode(), kind.encode(), ref.encode())
    return _seal(data_key, plaintext, ad, nonce)


def open_blob(data_key: bytes, report_id: str, kind: str, ref: str, sealed: bytes) -> bytes:
    """Decrypt one piece of evidence.

    Raises:
        EvidenceDestroyed: the blob does not open under this key for this slot.
    """
    ad = mac_input(_BLOB_LABEL, report_id.encode(), kind.encode(), ref.encode())
    return _open(data_key, sealed, ad)
