"""Sender commitment and recipient opening (DESIGN.md, "Send" and "Receive").

``c = MAC(fk, "frankly/v1/commit", P)`` under a fresh 32-byte franking key ``fk``. HMAC
under a fresh random key is a PRF, so ``c`` hides ``P`` from the platform; HMAC-SHA256 is
collision resistant, so ``c`` binds the sender to one ``P`` (Grubbs, Lu, Ristenpart,
CRYPTO 2017, "compactly committing AEAD").
"""

from __future__ import annotations

import hmac
import os

from client_scan.errors import CommitmentMismatch, InvalidInput
from client_scan.franking.encoding import MAC_BYTES, mac

COMMIT_LABEL = b"frankly/v1/commit"
FRANKING_KEY_BYTES = 32


def commit(franking_key: bytes, payload: bytes) -> bytes:
    """Return the commitment ``c`` to ``payload`` under ``franking_key``.

    Raises:
        InvalidInput: the franking key is not 32 bytes.
    """
    if len(franking_key) != FRANKING_KEY_BYTES:
        raise InvalidInput(f"franking key must be {FRANKING_KEY_BYTES} bytes")
    return mac(franking_key, COMMIT_LABEL, payload)


def verify_commitment(franking_key: bytes, payload: bytes, commitment: bytes) -> None:
    """Check that ``commitment`` opens to ``payload`` under ``franking_key``.

    The comparison is constant-time.

    Raises:
        CommitmentMismatch: it does not (including keys or commitments of the wrong length).
    """
    if len(franking_key) != FRANKING_KEY_BYTES or len(commitment) != MAC_BYTES:
        raise CommitmentMismatch("franking key or commitment has the wrong length")
    expected = mac(franking_key, COMMIT_LABEL, payload)
    if not hmac.compare_digest(expected, commitment):
        raise CommitmentMismatch("commitment does not open to the payload")


def new_franking_key() -> bytes:
    """A fresh random franking key (convenience wrapper over ``os.urandom``)."""
    return os.urandom(FRANKING_KEY_BYTES)
