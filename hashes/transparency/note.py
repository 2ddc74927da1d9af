"""Signed notes (c2sp.org/signed-note) with Ed25519 keys, and verifier keys (vkeys).

A note is UTF-8 text ending in a newline, a blank line, and one or more signature lines
``— <key name> base64(key ID || signature)``. The key ID is the first four bytes of
``SHA-256(name || 0x0A || type || public key)``; type ``0x01`` is an Ed25519 signature
over the text, ``0x04`` a timestamped checkpoint cosignature
(:mod:`hashes.transparency.cosignature`). A verifier key is
``<name>+<hex key ID>+base64(type || public key)``.

Notes arrive from the network, so :func:`parse_note` is strict: a size and signature-count
limit, exact separators, canonical base64, names without spaces or ``+``, no control
characters but newline. Signatures from unknown keys are ignored (the spec requires it);
one from a known key that does not verify rejects the whole note.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from hashes.errors import NoteFormatError, NoteNotSigned, NoteSignatureInvalid

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "MAX_KEY_NAME_BYTES",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "VerifiedNote",
    "b64decode_strict",
    "key_id",
    "open_note",
    "parse_note",
    "parse_vkey",
    "sign_note",
    "verify_ed25519",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_ALGORITHMS = frozenset({ALG_ED25519, ALG_COSIGNATURE_V1})
PUBLIC_KEY_SIZE = 32
# The spec asks verifiers to accept at least 16 signatures; Go's note package stops at 100.
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 64 * 1024
MAX_KEY_NAME_BYTES = 256
# 4-byte key ID plus the largest signature we know (8-byte timestamp + 64-byte Ed25519).
_MAX_SIGNATURE_BYTES = 4 + 8 + 64
_SIG_PREFIX = "\u2014 "
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def key_id(name: str, algorithm: int, public_key: bytes) -> int:
    """The note key ID: ``SHA-256(name || "\\n" || algorithm || public_key)[:4]`` as uint32."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([algorithm]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name:
        raise NoteFormatError("a key name is a non-empty string")
    if len(name.encode("utf-8")) > MAX_KEY_NAME_BYTES:
        raise NoteFormatError(f"a key name is at most {MAX_KEY_NAME_BYTES} bytes")
    if "+" in name or any(ch.isspace() for ch in name) or _CONTROL.search(name):
        raise NoteFormatError("a key name has no spaces, '+' or control characters")


def b64decode_strict(text: str, what: str, error: type[Exception] = NoteFormatError) -> bytes:
    """Standard base64 with padding, only in its one canonical spelling.

    Raises:
        error: (``NoteFormatError`` by default) anything else.
    """
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise error(f"{what} is not base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise error(f"{what} is not canonical base64")
    return raw


@dataclass(frozen=True, slots=True)
class NoteVerifier:
    """A public key a note signature line can name: key name, signature type and the
    32-byte Ed25519 key. ``key_id`` and ``vkey`` follow from them."""

    name: str
    algorithm: int
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.algorithm not in _ALGORITHMS:
            raise NoteFormatError(f"signature type {self.algorithm!r} is not supported")
        if not isinstance(self.public_key, bytes) or len(self.public_key) != PUBLIC_KEY_SIZE:
            raise NoteFormatError("an Ed25519 public key has 32 bytes")

    @property
    def key_id(self) -> int:
        """The uint32 key ID that signature lines by this key carry."""
        return key_id(self.name, self.algorithm, self.public_key)

    @property
    def vkey(self) -> str:
        """``<name>+<hex key ID>+base64(type || public key)``."""
        material = base64.b64encode(bytes([self.algorithm]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id:08x}+{material}"

    def matches(self, signature: NoteSignature) -> bool:
        """Whether a signature line names this key (both name and key ID)."""
        return signature.name == self.name and signature.key_id == self.key_id


def parse_vkey(text: str) -> NoteVerifier:
    """Parse a verifier key ``<name>+<hex key ID>+base64(type || public key)``.

    Raises:
        NoteFormatError: not in that form, an unsupported type (only ``0x01`` Ed25519 and
            ``0x04`` cosignature/v1), a key that is not 32 bytes, or a key ID that does not
            match the name and key.
    """
    if not isinstance(text, str) or len(text) > MAX_KEY_NAME_BYTES + 64:
        raise NoteFormatError("not a verifier key")
    parts = text.split("+", 2)  # the base64 key may itself contain "+"
    if len(parts) != 3:
        raise NoteFormatError("a verifier key is name+keyid+key")
    name, hex_id, material = parts
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise NoteFormatError("a verifier key's ID is 8 lowercase hex digits")
    raw = b64decode_strict(material, "the verifier key")
    if len(raw) != 1 + PUBLIC_KEY_SIZE:
        raise NoteFormatError("a verifier key holds a type byte and a 32-byte key")
    verifier = NoteVerifier(name=name, algorithm=raw[0], public_key=raw[1:])
    if verifier.key_id != int(hex_id, 16):
        raise NoteFormatError("the verifier key's ID does not match its name and key")
    return verifier


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the key name, the uint32 key ID and the signature bytes that
    follow the ID (64 bytes for Ed25519, 72 for a cosignature)."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        """The signature line, with its newline."""
        payload = struct.pack(">I", self.key_id) + self.signature
        return f"{_SIG_PREFIX}{self.name} {base64.b64encode(payload).decode('ascii')}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text (ending in a newline) and its signature lines, none verified."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def to_bytes(self) -> bytes:
        """The note as served: text, blank line, signature lines."""
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode("utf-8")

    def with_signature(self, signature: NoteSignature) -> Note:
        """A copy carrying ``signature`` too; an earlier line by the same key is replaced."""
        kept = tuple(
            s
            for s in self.signatures
            if not (s.name == signature.name and s.key_id == signature.key_id)
        )
        return Note(self.text, (*kept, signature))


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.endswith("\n") or text == "\n":
        raise NoteFormatError("a note's text is non-empty and ends in a newline")
    if _CONTROL.search(text):
        raise NoteFormatError("a note has no control characters other than newline")


def parse_note(data: bytes) -> Note:
    """Split a signed note into its text and signature lines, strictly; verify nothing.

    Raises:
        NoteFormatError: larger than ``MAX_NOTE_BYTES``, not UTF-8, a control character,
            no blank line before the signatures, no signature, more than
            ``MAX_SIGNATURES``, or a signature line not exactly ``— name base64``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise NoteFormatError("a note is bytes")
    if len(data) > MAX_NOTE_BYTES:
        raise NoteFormatError(f"a note is at most {MAX_NOTE_BYTES} bytes")
    try:
        whole = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise NoteFormatError("a note is UTF-8") from None
    if _CONTROL.search(whole):
        raise NoteFormatError("a note has no control characters other than newline")
    split = whole.rfind("\n\n")
    if split < 0 or not whole.endswith("\n"):
        raise NoteFormatError("a note is text, a blank line and signature lines")
    text = whole[: split + 1]
    _check_text(text)
    lines = whole[split + 2 :].split("\n")[:-1]
    if not lines:
        raise NoteFormatError("a note carries at least one signature")
    if len(lines) > MAX_SIGNATURES:
        raise NoteFormatError(f"a note carries at most {MAX_SIGNATURES} signatures")
    return Note(text, tuple(_parse_signature_line(line) for line in lines))


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise NoteFormatError("a signature line starts with an em dash and a space")
    fields = line[len(_SIG_PREFIX) :].split(" ")
    if len(fields) != 2:
        raise NoteFormatError("a signature line is '— name signature'")
    name, encoded = fields
    _check_name(name)
    if len(encoded) > 4 * ((_MAX_SIGNATURE_BYTES + 2) // 3):
        raise NoteFormatError("a signature is too long")
    raw = b64decode_strict(encoded, "a signature")
    if len(raw) < 5:
        raise NoteFormatError("a signature is a 4-byte key ID and at least one byte")
    (kid,) = struct.unpack(">I", raw[:4])
    return NoteSignature(name=name, key_id=kid, signature=raw[4:])


@dataclass(frozen=True)
class NoteSigner:
    """A private key that signs notes: its key name, type (``0x01`` for notes, ``0x04``
    for cosignatures) and Ed25519 signing key. Never printed (no repr of the key)."""

    name: str
    signing_key: nacl.signing.SigningKey
    algorithm: int = ALG_ED25519

    def __post_init__(self) -> None:
        # Validates the name and type the same way a verifier would.
        _ = self.verifier

    def __repr__(self) -> str:
        return f"NoteSigner(name={self.name!r}, algorithm={self.algorithm:#04x})"

    @classmethod
    def from_seed(cls, name: str, seed: bytes, algorithm: int = ALG_ED25519) -> NoteSigner:
        """A signer from a 32-byte Ed25519 seed (keep it secret).

        Raises:
            NoteFormatError: a bad name or type; ValueError for a seed of the wrong size.
        """
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed has 32 bytes")
        return cls(name, nacl.signing.SigningKey(seed), algorithm)

    @property
    def verifier(self) -> NoteVerifier:
        """The matching public verifier key."""
        return NoteVerifier(self.name, self.algorithm, bytes(self.signing_key.verify_key))

    def sign_text(self, text: str) -> NoteSignature:
        """An Ed25519 note signature over ``text`` (type ``0x01`` only).

        Raises:
            NoteFormatError: a cosignature key, or text that is not a note text.
        """
        if self.algorithm != ALG_ED25519:
            raise NoteFormatError("only an Ed25519 (0x01) key signs note text directly")
        _check_text(text)
        signature = self.signing_key.sign(text.encode("utf-8")).signature
        return NoteSignature(self.name, self.verifier.key_id, signature)


def sign_note(text: str, signers: Sequence[NoteSigner]) -> bytes:
    """A signed note of ``text`` with one Ed25519 signature per signer.

    Raises:
        NoteFormatError: ``text`` is empty, does not end in a newline, or has control
            characters; a signer is not an Ed25519 (0x01) key.
    """
    _check_text(text)
    if not signers:
        raise NoteFormatError("a note needs at least one signature")
    note = Note(text, ())
    for signer in signers:
        note = note.with_signature(signer.sign_text(text))
    return note.to_bytes()


@dataclass(frozen=True, slots=True)
class VerifiedNote:
    """A note with at least one verified signature; ``verified_by`` lists the keys."""

    note: Note
    verified_by: tuple[NoteVerifier, ...]

    @property
    def text(self) -> str:
        """The note text, now trusted."""
        return self.note.text


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message``."""
    if len(signature) != 64:
        return False
    try:
        nacl.signing.VerifyKey(public_key).verify(message, signature)
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False
    return True


def open_note(data: bytes | Note, verifiers: Sequence[NoteVerifier]) -> VerifiedNote:
    """Parse a note and check the Ed25519 (0x01) signatures by ``verifiers``.

    Lines by keys not in ``verifiers`` (name or key ID differ) are ignored; cosignature
    keys (0x04) in ``verifiers`` are skipped here (see :mod:`.cosignature`).

    Raises:
        NoteFormatError: the note is malformed (see :func:`parse_note`).
        NoteSignatureInvalid: a line by a known key does not verify.
        NoteNotSigned: no line by any of ``verifiers``.
    """
    note = data if isinstance(data, Note) else parse_note(data)
    message = note.text.encode("utf-8")
    verified: list[NoteVerifier] = []
    for signature in note.signatures:
        for verifier in verifiers:
            if verifier.algorithm != ALG_ED25519 or not verifier.matches(signature):
                continue
            if not verify_ed25519(verifier.public_key, message, signature.signature):
                raise NoteSignatureInvalid(
                    f"the signature by {verifier.name}+{verifier.key_id:08x} does not verify"
                )
            if verifier not in verified:
                verified.append(verifier)
    if not verified:
        raise NoteNotSigned("no signature on the note is by a trusted key")
    return VerifiedNote(note, tuple(verified))
