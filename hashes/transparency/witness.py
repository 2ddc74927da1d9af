"""A witness (c2sp.org/tlog-witness ``add-checkpoint``): cosign a checkpoint only after
checking that it is consistent with the latest one this witness cosigned for that log.

Pure: the witness's state (per log origin: the log's key and the latest cosigned size and
root) goes in and the new state comes out with the cosignature; the caller persists the
state *before* answering, atomically with the check (a file lock, a row lock).
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from hashes.errors import (
    CheckpointFork,
    ConsistencyProofInvalid,
    ProofRangeError,
    TransparencyFormatError,
    UnknownLogOrigin,
    WitnessSizeMismatch,
)
from hashes.transparency.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint
from hashes.transparency.cosignature import cosign
from hashes.transparency.merkle import EMPTY_ROOT, HASH_SIZE, verify_consistency
from hashes.transparency.note import (
    MAX_NOTE_BYTES,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    b64decode_strict,
    parse_note,
)

__all__ = [
    "MAX_PROOF_LINES",
    "AddCheckpoint",
    "WitnessedLog",
    "add_checkpoint",
    "encode_add_checkpoint",
    "parse_add_checkpoint",
]

MAX_PROOF_LINES = 63


@dataclass(frozen=True, slots=True)
class WitnessedLog:
    """A log this witness follows: its key, and the latest checkpoint it cosigned
    (size 0 and the empty root before the first)."""

    log_key: NoteVerifier
    size: int = 0
    root_hash: bytes = EMPTY_ROOT

    @property
    def origin(self) -> str:
        """The log's origin (its key name)."""
        return self.log_key.name


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """An ``add-checkpoint`` request: old size, consistency proof, checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes


def encode_add_checkpoint(request: AddCheckpoint) -> bytes:
    """The request body: ``old N``, proof lines, a blank line, the checkpoint."""
    lines = [f"old {request.old_size}\n"] + [
        base64.b64encode(p).decode("ascii") + "\n" for p in request.proof
    ]
    return "".join(lines).encode("ascii") + b"\n" + request.checkpoint


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Parse an ``add-checkpoint`` body, strictly.

    Raises:
        TransparencyFormatError: too large, a bad old-size line, more than 63 proof lines,
            a proof line that is not base64 of 32 bytes, no blank line.
    """
    if len(body) > MAX_NOTE_BYTES + 64 * (MAX_PROOF_LINES + 1):
        raise TransparencyFormatError("the request is too large")
    head, sep, note = bytes(body).partition(b"\n\n")
    if not sep:
        raise TransparencyFormatError("the request has no blank line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise TransparencyFormatError("the request head is ASCII") from None
    first = lines[0]
    size_text = first[4:]
    if not first.startswith("old ") or not (
        size_text == "0" or (size_text[:1] in "123456789" and size_text.isdigit())
    ):
        raise TransparencyFormatError("the first line is 'old <size>'")
    if len(size_text) > 20 or int(size_text) > 2**64 - 1:
        raise TransparencyFormatError("the old size is a uint64")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise TransparencyFormatError(f"at most {MAX_PROOF_LINES} consistency proof lines")
    proof = tuple(
        b64decode_strict(line, "a proof line", TransparencyFormatError) for line in lines[1:]
    )
    if any(len(p) != HASH_SIZE for p in proof):
        raise TransparencyFormatError("a proof line is a 32-byte hash")
    return AddCheckpoint(int(size_text), proof, note)


def add_checkpoint(
    request: AddCheckpoint,
    logs: Mapping[str, WitnessedLog],
    signer: NoteSigner,
    now_s: int,
) -> tuple[WitnessedLog, NoteSignature, Checkpoint]:
    """Check ``request`` against the witness's state and cosign it (tlog-witness order).

    Returns the new state for the log (persist it before answering), the cosignature
    line, and the checkpoint.

    Raises:
        NoteFormatError, CheckpointFormatError: a malformed checkpoint (400).
        UnknownLogOrigin: a log this witness does not follow (404).
        NoteSignatureInvalid, NoteNotSigned: not validly signed by the log's key (403).
        ProofRangeError: the old size is larger than the checkpoint's (400).
        WitnessSizeMismatch: the old size is not the latest cosigned size (409).
        ConsistencyProofInvalid: the proof does not verify, an empty tree with another
            root, or a proof from size 0 (422).
        CheckpointFork: the same size as the latest cosigned with another root (422).
    """
    note = parse_note(request.checkpoint)
    claimed = parse_checkpoint(note.text)
    state = logs.get(claimed.origin)
    if state is None:
        raise UnknownLogOrigin(f"this witness does not follow {claimed.origin!r}")
    checkpoint = open_checkpoint(note, state.log_key, state.origin).checkpoint
    if request.old_size > checkpoint.size:
        raise ProofRangeError(
            f"old size {request.old_size} is larger than the checkpoint's {checkpoint.size}"
        )
    if request.old_size != state.size:
        raise WitnessSizeMismatch(
            f"the latest cosigned size is {state.size}, not {request.old_size}", state.size
        )
    if checkpoint.size == 0 and not hmac.compare_digest(checkpoint.root_hash, EMPTY_ROOT):
        raise ConsistencyProofInvalid("an empty tree has the root SHA-256 of nothing")
    if checkpoint.size == state.size and not hmac.compare_digest(
        checkpoint.root_hash, state.root_hash
    ):
        raise CheckpointFork(f"two different trees of {state.size} leaves: the log forked")
    verify_consistency(
        state.size, checkpoint.size, state.root_hash, checkpoint.root_hash, request.proof
    )
    line = cosign(checkpoint, signer, now_s)
    return WitnessedLog(state.log_key, checkpoint.size, checkpoint.root_hash), line, checkpoint
