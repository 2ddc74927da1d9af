"""What a client checks before it believes a checkpoint and a leaf: the log's signature,
the witnesses' cosignatures, consistency with the checkpoint it trusted before, freshness,
and the leaf's inclusion.

:func:`verify_checkpoint` turns untrusted note bytes into a :class:`VerifiedCheckpoint`;
:func:`check_update` decides whether it may replace the :class:`TrustedCheckpoint` the
client holds (refusing rollbacks, forks and replays); :func:`verify_leaf` checks an
inclusion proof for a leaf in a verified checkpoint. All pure: time is a parameter.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from hashes.errors import CheckpointFork, CheckpointReplay, CheckpointRollback, OriginMismatch
from hashes.transparency.checkpoint import Checkpoint, open_checkpoint
from hashes.transparency.cosignature import Cosignature, WitnessPolicy, verify_cosignatures
from hashes.transparency.leaf import ListLeaf
from hashes.transparency.merkle import EMPTY_ROOT as _EMPTY
from hashes.transparency.merkle import hash_leaf, verify_consistency, verify_inclusion
from hashes.transparency.note import Note, NoteVerifier

__all__ = [
    "TrustedCheckpoint",
    "VerifiedCheckpoint",
    "check_update",
    "verify_checkpoint",
    "verify_leaf",
]


@dataclass(frozen=True, slots=True)
class VerifiedCheckpoint:
    """A checkpoint signed by the log and cosigned by enough trusted witnesses."""

    checkpoint: Checkpoint
    note: Note
    cosignatures: tuple[Cosignature, ...]

    @property
    def cosigned_at(self) -> int | None:
        """The newest trusted cosignature's timestamp (POSIX seconds), if any."""
        return max((c.timestamp for c in self.cosignatures), default=None)


@dataclass(frozen=True, slots=True)
class TrustedCheckpoint:
    """The checkpoint a client accepted last, and the newest cosignature time it had.
    Store it with the client's trusted list state."""

    checkpoint: Checkpoint
    cosigned_at: int | None = None


def verify_checkpoint(
    data: bytes | Note,
    log_key: NoteVerifier,
    witnesses: WitnessPolicy,
    *,
    now_s: int | None = None,
    origin: str | None = None,
) -> VerifiedCheckpoint:
    """Open a checkpoint note: log signature, body, origin, then witness cosignatures.

    Raises:
        NoteFormatError, CheckpointFormatError: malformed.
        NoteSignatureInvalid, NoteNotSigned: not (validly) signed by the log.
        OriginMismatch: a checkpoint of another log.
        CosignatureInvalid, CosignatureFromFuture, UntrustedWitness, TooFewCosignatures:
            the witness policy is not met.
    """
    signed = open_checkpoint(data, log_key, origin)
    cosignatures = verify_cosignatures(signed.note, signed.checkpoint, witnesses, now_s)
    return VerifiedCheckpoint(signed.checkpoint, signed.note, cosignatures)


def check_update(
    trusted: TrustedCheckpoint | None,
    new: VerifiedCheckpoint,
    consistency_proof: Sequence[bytes],
) -> TrustedCheckpoint:
    """Whether ``new`` may replace ``trusted``; returns the checkpoint to trust next.

    With nothing trusted yet (first use), any verified checkpoint is accepted and the
    proof must be empty. Otherwise: same origin; not smaller (rollback); at the same size
    the same root (else a fork); a larger tree must come with a consistency proof from
    the trusted one; and the newest cosignature must not be older than the one trusted
    (an old checkpoint replayed to freeze the client's view).

    Raises:
        OriginMismatch: the checkpoints are of different logs.
        CheckpointRollback: the new tree is smaller.
        CheckpointFork: the same size with a different root.
        ConsistencyProofInvalid: the proof does not show the new tree extends the old.
        CheckpointReplay: the cosignatures are older than those already trusted.
    """
    checkpoint = new.checkpoint
    if trusted is None:
        verify_consistency(0, checkpoint.size, _EMPTY, checkpoint.root_hash, consistency_proof)
        return TrustedCheckpoint(checkpoint, new.cosigned_at)
    old = trusted.checkpoint
    if checkpoint.origin != old.origin:
        raise OriginMismatch(f"a checkpoint of {checkpoint.origin!r}, trusted {old.origin!r}")
    if checkpoint.size < old.size:
        raise CheckpointRollback(
            f"the checkpoint has {checkpoint.size} leaves, the trusted one {old.size}"
        )
    if checkpoint.size == old.size and not hmac.compare_digest(checkpoint.root_hash, old.root_hash):
        raise CheckpointFork(f"two different trees of {old.size} leaves: the log forked")
    verify_consistency(
        old.size, checkpoint.size, old.root_hash, checkpoint.root_hash, consistency_proof
    )
    if (
        trusted.cosigned_at is not None
        and new.cosigned_at is not None
        and new.cosigned_at < trusted.cosigned_at
    ):
        raise CheckpointReplay(
            f"cosigned at {new.cosigned_at}, older than the trusted {trusted.cosigned_at}"
        )
    cosigned_at = max(
        (t for t in (trusted.cosigned_at, new.cosigned_at) if t is not None), default=None
    )
    return TrustedCheckpoint(checkpoint, cosigned_at)


def verify_leaf(
    leaf: ListLeaf | bytes, index: int, proof: Sequence[bytes], checkpoint: Checkpoint
) -> None:
    """Check that ``leaf`` is entry ``index`` of the log at ``checkpoint``.

    Raises:
        InclusionProofInvalid: it is not (or the proof is malformed).
    """
    entry = leaf.to_bytes() if isinstance(leaf, ListLeaf) else leaf
    verify_inclusion(index, checkpoint.size, hash_leaf(entry), proof, checkpoint.root_hash)
