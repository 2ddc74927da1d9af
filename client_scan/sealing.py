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


class ReportOpener:
    """Opens reports sealed to one private key. Building it derives the key pair's public
    half (an X25519 scalar multiplication, which ``crypto_box_seal_open`` needs to derive
    the nonce); a service keeps one per sealing key instead of paying that per report."""

    __slots__ = ("_box",)

    def __init__(self, private_key: bytes) -> None:
        """Raises:
        InvalidInput: the private key is not 32 bytes.
        """
        if len(private_key) != X25519_KEY_BYTES:
            raise InvalidInput("service private key must be 32 bytes")
        self._box = SealedBox(PrivateKey(private_key))

    def open(self, sealed: bytes) -> bytes:
        """The report JSON inside ``sealed``.

        Raises:
            SealError: the bytes are not a sealed box for this key, or were altered.
        """
        try:
            return self._box.decrypt(sealed)
        except (CryptoError, ValueError, TypeError) as exc:
            raise SealError("report is not sealed to this service key, or was altered") from exc


def open_sealed_report(sealed: bytes, private_key: bytes) -> bytes:
    """Open a sealed report with the service's private key (once: see :class:`ReportOpener`
    for many).

    Raises:
        InvalidInput: the private key is not 32 bytes.
        SealError: the bytes are not a sealed box for this key, or were altered.
    """
    return ReportOpener(private_key).open(sealed)
