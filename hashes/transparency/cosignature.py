"""Witness cosignatures on checkpoints (c2sp.org/tlog-cosignature, cosignature/v1, Ed25519).

A witness that has checked a checkpoint is consistent with every earlier one it saw signs

    cosignature/v1\\n
    time <POSIX seconds>\\n
    <the checkpoint body>

and adds a note signature line whose key ID uses type ``0x04`` and whose bytes are
``uint64_be(timestamp) || Ed25519 signature``. A client names the witnesses it trusts and
how many must cosign (:class:`WitnessPolicy`); :func:`verify_cosignatures` counts the
distinct trusted witnesses whose cosignature verifies.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hashes.errors import (
    CosignatureFromFuture,
    CosignatureInvalid,
    NoteFormatError,
    TooFewCosignatures,
    UntrustedWitness,
)
from hashes.transparency.checkpoint import Checkpoint
from hashes.transparency.note import (
    ALG_COSIGNATURE_V1,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    verify_ed25519,
)

__all__ = [
    "COSIGNATURE_SIZE",
    "Cosignature",
    "WitnessPolicy",
    "cosign",
    "cosignature_message",
    "verify_cosignatures",
]

COSIGNATURE_SIZE = 8 + 64
_MAX_TIMESTAMP = 2**63 - 1


def cosignature_message(checkpoint: Checkpoint, timestamp: int) -> bytes:
    """The exact bytes a cosignature/v1 Ed25519 cosigner signs."""
    if isinstance(timestamp, bool) or not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise ValueError("a cosignature timestamp is in 0 .. 2**63 - 1")
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint.body()}".encode()


def cosign(checkpoint: Checkpoint, signer: NoteSigner, timestamp: int) -> NoteSignature:
    """The witness's cosignature line on ``checkpoint`` at ``timestamp`` (POSIX seconds).

    Only call this after checking consistency with the last checkpoint the witness saw.

    Raises:
        NoteFormatError: the signer is not a cosignature (0x04) key.
        ValueError: a timestamp outside ``0 .. 2**63 - 1``.
    """
    if signer.algorithm != ALG_COSIGNATURE_V1:
        raise NoteFormatError("a cosignature needs a cosignature/v1 (0x04) key")
    message = cosignature_message(checkpoint, timestamp)
    signature = signer.signing_key.sign(message).signature
    return NoteSignature(
        signer.name, signer.verifier.key_id, struct.pack(">Q", timestamp) + signature
    )


@dataclass(frozen=True)
class WitnessPolicy:
    """The witnesses a client trusts (cosignature/v1 verifier keys) and how many of them
    must cosign a checkpoint.

    ``threshold`` 0 means no cosignature is needed (a log without witnesses: not
    recommended, a log can then show different devices different trees).
    ``max_skew_s`` is how far in the future a cosignature timestamp may lie.

    Raises:
        ValueError: (on construction) a key that is not type 0x04, two keys with the same
            name and key ID, or a threshold outside ``0 .. len(witnesses)``.
    """

    witnesses: tuple[NoteVerifier, ...]
    threshold: int
    max_skew_s: int = 300

    def __post_init__(self) -> None:
        object.__setattr__(self, "witnesses", tuple(self.witnesses))
        seen: set[tuple[str, int]] = set()
        for witness in self.witnesses:
            if witness.algorithm != ALG_COSIGNATURE_V1:
                raise ValueError(f"witness key {witness.name!r} is not a cosignature/v1 key")
            ident = (witness.name, witness.key_id)
            if ident in seen:
                raise ValueError(f"witness {witness.name!r} is named twice")
            seen.add(ident)
        if isinstance(self.threshold, bool) or not 0 <= self.threshold <= len(self.witnesses):
            raise ValueError(f"the witness threshold must lie in 0..{len(self.witnesses)}")
        if self.max_skew_s < 0:
            raise ValueError("the allowed clock skew is not negative")


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A verified cosignature: which trusted witness, and the time it signed at."""

    witness: NoteVerifier
    timestamp: int


def verify_cosignatures(
    note: Note, checkpoint: Checkpoint, policy: WitnessPolicy, now_s: int | None = None
) -> tuple[Cosignature, ...]:
    """Check the cosignatures on a checkpoint note against ``policy``.

    Lines by keys the policy does not name are ignored (but remembered, to say why a
    checkpoint was refused). Each trusted witness counts once (its newest cosignature).

    Raises:
        CosignatureInvalid: a line by a trusted witness is malformed or does not verify.
        CosignatureFromFuture: a trusted cosignature is dated after ``now_s + max_skew_s``.
        UntrustedWitness: no trusted witness cosigned, but other keys did.
        TooFewCosignatures: fewer than ``policy.threshold`` trusted witnesses cosigned.
    """
    found: dict[tuple[str, int], Cosignature] = {}
    untrusted = 0
    for line in note.signatures:
        witness = next((w for w in policy.witnesses if w.matches(line)), None)
        if witness is None:
            if len(line.signature) == COSIGNATURE_SIZE:
                untrusted += 1
            continue
        if len(line.signature) != COSIGNATURE_SIZE:
            raise CosignatureInvalid(f"the cosignature by {witness.name!r} is not 72 bytes")
        (timestamp,) = struct.unpack(">Q", line.signature[:8])
        if timestamp > _MAX_TIMESTAMP:
            raise CosignatureInvalid(f"the cosignature by {witness.name!r} has a bad timestamp")
        message = cosignature_message(checkpoint, timestamp)
        if not verify_ed25519(witness.public_key, message, line.signature[8:]):
            raise CosignatureInvalid(f"the cosignature by {witness.name!r} does not verify")
        if now_s is not None and timestamp > now_s + policy.max_skew_s:
            raise CosignatureFromFuture(
                f"the cosignature by {witness.name!r} is dated {timestamp}, now is {now_s}"
            )
        ident = (witness.name, witness.key_id)
        previous = found.get(ident)
        if previous is None or previous.timestamp < timestamp:
            found[ident] = Cosignature(witness, timestamp)
    if len(found) < policy.threshold:
        if not found and untrusted:
            raise UntrustedWitness(
                f"{untrusted} cosignature(s), none by a witness the policy trusts"
            )
        raise TooFewCosignatures(
            f"{len(found)} trusted witness cosignature(s), the policy needs {policy.threshold}"
        )
    return tuple(found.values())
