"""Transparency-log checkpoints (c2sp.org/tlog-checkpoint): the signed tree head as a note.

The note text is the origin line, the tree size in decimal (no leading zeros), the
base64 root hash, and optional non-empty extension lines, each ending in a newline. The
log signs it with its Ed25519 note key (:func:`sign_checkpoint`); a client opens it with
that key (:func:`open_checkpoint`), which also checks the origin is the log it expects.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from hashes.errors import CheckpointFormatError, OriginMismatch
from hashes.transparency.merkle import HASH_SIZE, MAX_TREE_SIZE
from hashes.transparency.note import (
    Note,
    NoteSigner,
    NoteVerifier,
    b64decode_strict,
    open_note,
    parse_note,
)

__all__ = [
    "MAX_EXTENSION_LINES",
    "Checkpoint",
    "SignedCheckpoint",
    "open_checkpoint",
    "parse_checkpoint",
    "sign_checkpoint",
]

MAX_EXTENSION_LINES = 16
MAX_ORIGIN_BYTES = 256
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, size and RFC 6962 root hash (plus extension lines).

    Raises:
        CheckpointFormatError: (on construction) an empty origin or one with a newline, a
            size outside uint64, a root that is not 32 bytes, an empty extension line.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.origin, str) or not self.origin or "\n" in self.origin:
            raise CheckpointFormatError("the origin is one non-empty line")
        if len(self.origin.encode("utf-8")) > MAX_ORIGIN_BYTES:
            raise CheckpointFormatError(f"the origin is at most {MAX_ORIGIN_BYTES} bytes")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointFormatError("the tree size is a uint64")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise CheckpointFormatError("the root hash has 32 bytes")
        if len(self.extensions) > MAX_EXTENSION_LINES:
            raise CheckpointFormatError(f"at most {MAX_EXTENSION_LINES} extension lines")
        for line in self.extensions:
            if not line or "\n" in line:
                raise CheckpointFormatError("an extension line is one non-empty line")

    def body(self) -> str:
        """The note text (what the log signs and witnesses cosign), newline-terminated."""
        root = base64.b64encode(self.root_hash).decode("ascii")
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text, strictly.

    Raises:
        CheckpointFormatError: fewer than three lines, a size with leading zeros or out of
            range, a root that is not canonical base64 of 32 bytes, an empty line.
    """
    if not isinstance(text, str) or not text.endswith("\n"):
        raise CheckpointFormatError("a checkpoint body ends in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointFormatError("a checkpoint has an origin, a size and a root hash")
    origin, size_text, root_text, *extensions = lines
    if not _SIZE.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
        raise CheckpointFormatError("the tree size is a decimal uint64 without leading zeros")
    root = b64decode_strict(root_text, "the root hash", CheckpointFormatError)
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> bytes:
    """The checkpoint as a note signed by the log's Ed25519 key.

    Raises:
        NoteFormatError: the signer is not an Ed25519 (0x01) note key.
    """
    return Note(checkpoint.body(), (signer.sign_text(checkpoint.body()),)).to_bytes()


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """A checkpoint whose log signature verified, and the note it came in (with any
    cosignature lines, not yet checked)."""

    checkpoint: Checkpoint
    note: Note


def open_checkpoint(
    data: bytes | Note, log_key: NoteVerifier, origin: str | None = None
) -> SignedCheckpoint:
    """Verify the log's signature on a checkpoint note and parse its body.

    ``origin`` is the log the caller expects; by default the log key's name (the spec
    recommends they match).

    Raises:
        NoteFormatError: a malformed note.
        NoteSignatureInvalid: the log's signature does not verify.
        NoteNotSigned: no signature by the log key.
        CheckpointFormatError: the text is not a checkpoint.
        OriginMismatch: the checkpoint is from another log.
    """
    note = data if isinstance(data, Note) else parse_note(data)
    verified = open_note(note, [log_key])
    checkpoint = parse_checkpoint(verified.text)
    expected = log_key.name if origin is None else origin
    if checkpoint.origin != expected:
        raise OriginMismatch(f"a checkpoint of {checkpoint.origin!r}, expected {expected!r}")
    return SignedCheckpoint(checkpoint, note)
