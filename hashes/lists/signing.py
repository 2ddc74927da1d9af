"""Curator signatures over a list digest (Ed25519, PyNaCl).

A curator signs ``lp("frankly/v1/hash-list") || lp(digest)`` where ``lp(x)`` is
``uint32_be(len(x)) || x`` and ``digest`` is the SHA-256 of the list's canonical unsigned
body. The label keeps a list signature from ever being valid as any other Frankly
signature. Several curators may sign the same list; a trust policy then asks for k of
them (:mod:`hashes.lists.trust`).
"""

from __future__ import annotations

import hmac
import struct

import nacl.exceptions
import nacl.signing

from hashes.errors import ListDigestMismatch, SignatureInvalid
from hashes.lists.format import HashList, ListSignature, parse_list

__all__ = ["SIGNATURE_LABEL", "add_signature", "sign_list", "signed_message", "verify_signature"]

SIGNATURE_LABEL = b"frankly/v1/hash-list"


def _lp(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def signed_message(digest: bytes) -> bytes:
    """The exact bytes a curator signs for a list with this digest."""
    return _lp(SIGNATURE_LABEL) + _lp(digest)


def sign_list(hash_list: HashList, signing_key: nacl.signing.SigningKey) -> bytes:
    """Return the list file with this curator's signature added to those it carries.

    Signing twice with the same key replaces the earlier signature rather than adding a
    second one, so a key is never counted twice.

    Raises:
        ListFormatError: the list would carry more than 64 signatures.
    """
    signature = signing_key.sign(signed_message(hash_list.digest)).signature
    public = bytes(signing_key.verify_key)
    kept = [s for s in hash_list.signatures if s.public_key != public]
    new = ListSignature(public_key=public, signature=bytes(signature))
    return hash_list.with_signatures([*kept, new]).to_bytes()


def add_signature(data: bytes, signing_key: nacl.signing.SigningKey) -> bytes:
    """Add a signature to a list file (signed or not) and return the new file.

    Raises:
        ListFormatError: the file is not a well-formed list (``ListTruncated`` if short).
        ListDigestMismatch: the body no longer matches the digest in its trailer (it was
            altered after it was built); a curator must not sign such a file.
        ListFormatError: the list would carry more than 64 signatures.
    """
    hash_list, stored = parse_list(data)
    if not hmac.compare_digest(stored, hash_list.digest):
        raise ListDigestMismatch("the list body does not match its recorded digest")
    return sign_list(hash_list, signing_key)


def verify_signature(signature: ListSignature, digest: bytes) -> None:
    """Check one signature over ``digest`` with the public key it names.

    Raises:
        SignatureInvalid: the signature does not verify, or the key is malformed.
    """
    try:
        nacl.signing.VerifyKey(signature.public_key).verify(
            signed_message(digest), signature.signature
        )
    except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, ValueError):
        raise SignatureInvalid(
            f"a signature by key {signature.public_key.hex()[:16]}... does not verify"
        ) from None
