"""Checkpoints, witness cosignatures and the client's update rule: every attack refused
with its own typed error."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from pathlib import Path

import nacl.signing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import (
    CheckpointFork,
    CheckpointFormatError,
    CheckpointReplay,
    CheckpointRollback,
    ConsistencyProofInvalid,
    CosignatureFromFuture,
    CosignatureInvalid,
    InclusionProofInvalid,
    NoteFormatError,
    NoteNotSigned,
    NoteSignatureInvalid,
    OriginMismatch,
    TooFewCosignatures,
    TransparencyError,
    UntrustedWitness,
)
from hashes.transparency import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    Note,
    NoteSigner,
    TrustedCheckpoint,
    WitnessPolicy,
    check_update,
    consistency_proof,
    cosign,
    cosignature_message,
    hash_leaf,
    inclusion_proof,
    memory_reader,
    open_checkpoint,
    parse_checkpoint,
    parse_note,
    root_hash,
    sign_checkpoint,
    verify_checkpoint,
    verify_leaf,
)

V = json.loads((Path(__file__).parents[2] / "vectors" / "transparency" / "notes.json").read_text())
ORIGIN = "log.frankly.example/lists"
LOG = NoteSigner.from_seed(ORIGIN, hashlib.sha256(b"log").digest())
EVIL_LOG = NoteSigner.from_seed(ORIGIN, hashlib.sha256(b"evil").digest())
WITNESSES = [
    NoteSigner.from_seed(f"w{i}.example", hashlib.sha256(b"w%d" % i).digest(), ALG_COSIGNATURE_V1)
    for i in range(4)
]
POLICY = WitnessPolicy(tuple(w.verifier for w in WITNESSES[:3]), threshold=2)
NOW = 1_800_000_000
LEAVES = [hash_leaf(b"entry %d" % i) for i in range(100)]
READER = memory_reader(LEAVES)


def checkpoint(size: int, origin: str = ORIGIN) -> Checkpoint:
    return Checkpoint(origin, size, root_hash(size, READER))


def signed(
    cp: Checkpoint, witnesses: list[NoteSigner], at: int = NOW, log: NoteSigner = LOG
) -> bytes:
    note = parse_note(sign_checkpoint(cp, log))
    for w in witnesses:
        note = note.with_signature(cosign(cp, w, at))
    return note.to_bytes()


def test_c2sp_checkpoint_example_parses() -> None:
    example = V["c2sp_checkpoint_example"]
    note = parse_note(example["note"].encode())
    cp = parse_checkpoint(note.text)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == example["size"]
    cosig = note.signatures[1]
    assert len(cosig.signature) == 72
    assert struct.unpack(">Q", cosig.signature[:8])[0] == example["cosignature_time"]
    assert (
        cosignature_message(cp, example["cosignature_time"])
        == example["cosignature_message"].encode()
    )
    assert parse_note(note.to_bytes()) == note


def test_round_trip_and_policy() -> None:
    cp = checkpoint(10)
    data = signed(cp, WITNESSES[:2])
    verified = verify_checkpoint(data, LOG.verifier, POLICY, now_s=NOW)
    assert verified.checkpoint == cp
    assert verified.cosigned_at == NOW
    assert {c.witness for c in verified.cosignatures} == {w.verifier for w in WITNESSES[:2]}
    assert open_checkpoint(data, LOG.verifier).checkpoint == cp
    assert parse_checkpoint(cp.body()) == cp
    ext = Checkpoint(ORIGIN, 3, cp.root_hash, ("extension line",))
    assert parse_checkpoint(ext.body()) == ext


@pytest.mark.parametrize(
    "body",
    [
        "o\n10\n",
        "o\n010\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "o\n-1\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "o\n18446744073709551616\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "o\n1\n" + base64.b64encode(bytes(31)).decode() + "\n",
        "o\n1\n" + base64.b64encode(bytes(32)).decode() + "\n\n",
        "o\n1\n" + base64.b64encode(bytes(32)).decode(),
        "\n1\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "o\n1\nAAAA AAAA\n",
    ],
)
def test_malformed_checkpoint_bodies(body: str) -> None:
    with pytest.raises(CheckpointFormatError):
        parse_checkpoint(body)


def test_attacks_each_have_their_error() -> None:
    cp = checkpoint(10)
    # Another key under the log's name has another key ID: ignored, so not signed.
    with pytest.raises(NoteNotSigned):
        verify_checkpoint(signed(cp, WITNESSES[:2], log=EVIL_LOG), LOG.verifier, POLICY)
    # The log's own signature on another tree, moved onto this checkpoint.
    moved_log = parse_note(sign_checkpoint(checkpoint(11), LOG)).signatures[0]
    with pytest.raises(NoteSignatureInvalid):
        verify_checkpoint(Note(cp.body(), (moved_log,)).to_bytes(), LOG.verifier, POLICY)
    # Only witness lines, no log signature.
    witness_only = parse_note(signed(cp, WITNESSES[:2])).signatures[1:]
    with pytest.raises(NoteNotSigned):
        verify_checkpoint(Note(cp.body(), witness_only).to_bytes(), LOG.verifier, POLICY)
    # Another log's checkpoint.
    other = Checkpoint("other.example/log", 10, cp.root_hash)
    with pytest.raises(OriginMismatch):
        verify_checkpoint(signed(other, WITNESSES[:2]), LOG.verifier, POLICY)
    # Too few witnesses; only untrusted witnesses.
    with pytest.raises(TooFewCosignatures):
        verify_checkpoint(signed(cp, WITNESSES[:1]), LOG.verifier, POLICY)
    with pytest.raises(TooFewCosignatures):
        verify_checkpoint(signed(cp, []), LOG.verifier, POLICY)
    with pytest.raises(UntrustedWitness):
        verify_checkpoint(signed(cp, WITNESSES[3:]), LOG.verifier, POLICY)
    # The same witness twice counts once.
    note = parse_note(signed(cp, WITNESSES[:1]))
    note = Note(note.text, (*note.signatures, cosign(cp, WITNESSES[0], NOW - 5)))
    with pytest.raises(TooFewCosignatures):
        verify_checkpoint(note.to_bytes(), LOG.verifier, POLICY)
    # A witness's cosignature on another tree, moved onto this checkpoint.
    moved = cosign(checkpoint(11), WITNESSES[1], NOW)
    note = parse_note(signed(cp, WITNESSES[:1])).with_signature(moved)
    with pytest.raises(CosignatureInvalid):
        verify_checkpoint(note.to_bytes(), LOG.verifier, POLICY)
    # A timestamp from the future.
    with pytest.raises(CosignatureFromFuture):
        verify_checkpoint(signed(cp, WITNESSES[:2], at=NOW + 3600), LOG.verifier, POLICY, now_s=NOW)
    # A log key (0x01) cannot cosign; a witness key cannot sign a checkpoint.
    with pytest.raises(NoteFormatError):
        cosign(cp, LOG, NOW)
    with pytest.raises(NoteFormatError):
        sign_checkpoint(cp, WITNESSES[0])


@given(st.data())
def test_any_changed_byte_of_a_cosigned_checkpoint_is_refused(data: st.DataObject) -> None:
    note = signed(checkpoint(10), WITNESSES[:2])
    i = data.draw(st.integers(0, len(note) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda b: b != note[i]))
    changed = note[:i] + bytes([value]) + note[i + 1 :]
    with pytest.raises(TransparencyError):
        verify_checkpoint(changed, LOG.verifier, POLICY, now_s=NOW)


def _verified(size: int, at: int = NOW) -> object:
    return verify_checkpoint(signed(checkpoint(size), WITNESSES[:2], at), LOG.verifier, POLICY)


def test_update_rule() -> None:
    first = verify_checkpoint(signed(checkpoint(10), WITNESSES[:2]), LOG.verifier, POLICY)
    trusted = check_update(None, first, [])
    assert trusted == TrustedCheckpoint(checkpoint(10), NOW)
    later = verify_checkpoint(
        signed(checkpoint(50), WITNESSES[1:3], NOW + 60), LOG.verifier, POLICY
    )
    trusted2 = check_update(trusted, later, consistency_proof(10, 50, READER))
    assert trusted2 == TrustedCheckpoint(checkpoint(50), NOW + 60)
    # The same checkpoint again is fine (no proof needed).
    assert check_update(trusted2, later, []) == trusted2
    # Rollback: a smaller tree.
    with pytest.raises(CheckpointRollback):
        check_update(trusted2, first, [])
    # Replay: the same tree with older cosignatures than already seen.
    stale = verify_checkpoint(signed(checkpoint(50), WITNESSES[:2], NOW), LOG.verifier, POLICY)
    with pytest.raises(CheckpointReplay):
        check_update(trusted2, stale, [])
    # Fork: the same size, another root (a split view that the log signed).
    forked_cp = Checkpoint(ORIGIN, 50, hash_leaf(b"another history"))
    forked = verify_checkpoint(signed(forked_cp, WITNESSES[:2], NOW + 99), LOG.verifier, POLICY)
    with pytest.raises(CheckpointFork):
        check_update(trusted2, forked, [])
    # A larger tree that does not extend the trusted one.
    other_leaves = [hash_leaf(b"other %d" % i) for i in range(60)]
    other_reader = memory_reader(other_leaves)
    other_cp = Checkpoint(ORIGIN, 60, root_hash(60, other_reader))
    other = verify_checkpoint(signed(other_cp, WITNESSES[:2], NOW + 99), LOG.verifier, POLICY)
    with pytest.raises(ConsistencyProofInvalid):
        check_update(trusted2, other, consistency_proof(50, 60, other_reader))
    with pytest.raises(ConsistencyProofInvalid):
        check_update(trusted2, other, [])
    # Another log's checkpoint never replaces this one.
    foreign = Checkpoint("other.example", 60, other_cp.root_hash)
    foreign_v = verify_checkpoint(
        signed(foreign, WITNESSES[:2]), LOG.verifier, POLICY, origin="other.example"
    )
    with pytest.raises(OriginMismatch):
        check_update(trusted2, foreign_v, [])


def test_leaf_inclusion_in_a_checkpoint() -> None:
    cp = checkpoint(77)
    verify_leaf(b"entry 5", 5, inclusion_proof(5, 77, READER), cp)
    with pytest.raises(InclusionProofInvalid):
        verify_leaf(b"entry 6", 5, inclusion_proof(5, 77, READER), cp)


def test_witness_policy_validation() -> None:
    with pytest.raises(ValueError, match="not a cosignature/v1 key"):
        WitnessPolicy((LOG.verifier,), 1)
    with pytest.raises(ValueError, match="threshold"):
        WitnessPolicy((WITNESSES[0].verifier,), 2)
    with pytest.raises(ValueError, match="named twice"):
        WitnessPolicy((WITNESSES[0].verifier, WITNESSES[0].verifier), 1)
    assert WitnessPolicy((), 0).threshold == 0
    key = nacl.signing.SigningKey(bytes(32))
    assert NoteSigner("x", key, ALG_COSIGNATURE_V1).verifier.algorithm == ALG_COSIGNATURE_V1
