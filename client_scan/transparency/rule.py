"""The device rule: accept a list update only with proof it is in the public, witnessed log.

docs/transparency.md, "Device rule". :func:`check_bundle` is pure (the clock is a
parameter) and decides, in this order, raising the first failure as its own
:class:`~client_scan.errors.ListUpdateRejected` subclass:

1. the bundle parses within its bounds (``bundle_invalid``);
2. the list is signed by enough trusted curators (``list_unsigned``) and may replace the
   version trusted for its list id (``list_rollback``, ``chain_broken``: as
   :func:`hashes.lists.load_list`);
3. the list is fresh: its signed expiry is in the future (``list_expired``), and it has one
   unless the policy accepts lists without (``list_expiry_missing``);
4. the checkpoint is signed by the log key (``checkpoint_invalid``) and cosigned by at
   least ``threshold`` trusted witnesses (``witness_untrusted``, ``too_few_cosignatures``);
5. the consistency proof starts at the trusted checkpoint's size (``bundle_base_mismatch``)
   and shows the new tree extends it (``log_rollback``, ``log_fork``,
   ``log_inconsistent``), with cosignatures no older than those trusted
   (``checkpoint_replayed``);
6. the leaf describes exactly this list (``leaf_mismatch``) and names the trusted curators
   who signed it (``list_unsigned``);
7. the inclusion proof puts the leaf in the checkpoint's tree (``not_in_log``).

Only then does the caller swap in the list and the new :class:`TrustedCheckpoint`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from client_scan.errors import (
    BundleBaseMismatch,
    CheckpointRefused,
    CheckpointReplayed,
    LeafMismatch,
    ListChainBroken,
    ListExpired,
    ListExpiryMissing,
    ListNotCuratorSigned,
    ListRolledBack,
    ListUpdateRejected,
    LogForked,
    LogInconsistent,
    LogRolledBack,
    NotEnoughCosignatures,
    NotInLog,
    UpdateBundleInvalid,
    WitnessNotTrusted,
)
from client_scan.transparency.bundle import DEFAULT_MAX_LIST_BYTES, UpdateBundle, parse_bundle
from hashes import errors as herr
from hashes.lists import (
    HashList,
    TrustedState,
    TrustPolicy,
    check_fresh,
    load_list,
)
from hashes.lists.format import peek_list_id
from hashes.transparency.cosignature import WitnessPolicy
from hashes.transparency.leaf import ListLeaf, parse_leaf
from hashes.transparency.note import NoteVerifier
from hashes.transparency.verify import (
    TrustedCheckpoint,
    VerifiedCheckpoint,
    check_update,
    verify_checkpoint,
    verify_leaf,
)

__all__ = ["AcceptedUpdate", "LogPolicy", "check_bundle", "leaf_mismatch", "list_refusal"]


@dataclass(frozen=True, slots=True)
class LogPolicy:
    """A device's transparency policy: the log's verifier key, the trusted witnesses and
    how many must cosign (with the allowed clock skew), and whether a list without an
    expiry may be accepted (no by default: a list that never expires lets a frozen feed go
    unnoticed).

    Raises:
        ValueError: (on construction) a log key that is not an Ed25519 note key.
    """

    log_key: NoteVerifier
    witnesses: WitnessPolicy
    allow_lists_without_expiry: bool = False
    max_list_bytes: int = DEFAULT_MAX_LIST_BYTES

    def __post_init__(self) -> None:
        from hashes.transparency.note import ALG_ED25519

        if self.log_key.algorithm != ALG_ED25519:
            raise ValueError("the log key is an Ed25519 signed-note key (type 0x01)")


@dataclass(frozen=True, slots=True)
class AcceptedUpdate:
    """What a device swaps in after :func:`check_bundle`: the list, its trusted state, and
    the checkpoint to trust from now on (with the leaf that logged the list)."""

    hash_list: HashList
    state: TrustedState
    checkpoint: TrustedCheckpoint
    leaf: ListLeaf


_LIST_REFUSALS: tuple[tuple[type[Exception], type[ListUpdateRejected]], ...] = (
    (herr.SignatureError, ListNotCuratorSigned),
    (herr.ListExpired, ListExpired),
    (herr.ListExpiryMissing, ListExpiryMissing),
    (herr.ListRollback, ListRolledBack),
    (herr.ChainBroken, ListChainBroken),
)
_CHECKPOINT_REFUSALS: tuple[tuple[type[Exception], type[ListUpdateRejected]], ...] = (
    (herr.UntrustedWitness, WitnessNotTrusted),
    (herr.TooFewCosignatures, NotEnoughCosignatures),
    (herr.CheckpointFork, LogForked),
    (herr.CheckpointRollback, LogRolledBack),
    (herr.CheckpointReplay, CheckpointReplayed),
    (herr.ConsistencyProofInvalid, LogInconsistent),
)


def _refusal_kind(
    exc: Exception,
    table: tuple[tuple[type[Exception], type[ListUpdateRejected]], ...],
    default: type[ListUpdateRejected],
) -> type[ListUpdateRejected]:
    """The device-level error class for ``exc``: the first row of ``table`` it is an
    instance of, else ``default``."""
    return next((kind for cause, kind in table if isinstance(exc, cause)), default)


def list_refusal(exc: herr.HashListError) -> ListUpdateRejected:
    """The device-level error for a list refused by :func:`hashes.lists.load_list` or
    :func:`hashes.lists.check_fresh` (the caller raises it ``from exc``)."""
    kind = _refusal_kind(exc, _LIST_REFUSALS, ListUpdateRejected)
    return kind(f"hash list update refused: {exc}")


def _checkpoint_refusal(exc: herr.TransparencyError) -> ListUpdateRejected:
    kind = _refusal_kind(exc, _CHECKPOINT_REFUSALS, CheckpointRefused)
    return kind(f"log checkpoint refused: {exc}")


def leaf_mismatch(leaf: ListLeaf, hash_list: HashList) -> str | None:
    """The first field in which ``leaf`` does not describe ``hash_list``, if any."""
    h = hash_list.header
    expected = {
        "list_id": h.list_id,
        "version": h.version,
        "count": h.count,
        "algorithm": str(h.algorithm),
        "bits": h.bits,
        "issued_at_ms": h.issued_at_ms,
        "previous_digest": h.previous_digest,
        "expires_at_ms": h.expires_at_ms,
    }
    if not hmac.compare_digest(leaf.digest, hash_list.digest):
        return "digest"
    for name, value in expected.items():
        if getattr(leaf, name) != value:
            return name
    return None


def check_bundle(
    bundle: bytes | UpdateBundle,
    *,
    curators: TrustPolicy,
    log: LogPolicy,
    trusted_lists: Mapping[str, TrustedState],
    trusted_checkpoint: TrustedCheckpoint | None,
    now_ms: int,
) -> AcceptedUpdate:
    """Decide whether a list update bundle may be accepted (order in the module docstring).

    Raises:
        ListUpdateRejected: one subclass per reason (module docstring); ``__cause__`` is the
            ``hashes`` error where there is one. Nothing is changed by this function.
    """
    if isinstance(bundle, bytes):
        bundle = parse_bundle(bundle, max_list_bytes=log.max_list_bytes)
    elif len(bundle.list_bytes) > log.max_list_bytes:
        raise UpdateBundleInvalid(f"the list is larger than {log.max_list_bytes} bytes")
    # 2. curators and succession
    try:
        list_id = peek_list_id(bundle.list_bytes)
        hash_list = load_list(bundle.list_bytes, curators, trusted_lists.get(list_id))
    except herr.HashListError as exc:
        raise list_refusal(exc) from exc
    # 3. freshness
    try:
        check_fresh(hash_list, now_ms, require_expiry=not log.allow_lists_without_expiry)
    except herr.ListStale as exc:
        raise list_refusal(exc) from exc
    # 4. the checkpoint and its witnesses
    try:
        verified: VerifiedCheckpoint = verify_checkpoint(
            bundle.checkpoint, log.log_key, log.witnesses, now_s=now_ms // 1000
        )
    except herr.TransparencyError as exc:
        raise _checkpoint_refusal(exc) from exc
    # 5. consistency with what the device trusts
    trusted_size = 0 if trusted_checkpoint is None else trusted_checkpoint.checkpoint.size
    if bundle.old_size != trusted_size and verified.checkpoint.size >= trusted_size:
        raise BundleBaseMismatch(
            f"the bundle proves consistency from {bundle.old_size} leaves, the device trusts "
            f"a checkpoint of {trusted_size}",
            trusted_size=trusted_size,
        )
    try:
        new_trusted = check_update(trusted_checkpoint, verified, bundle.consistency_proof)
    except herr.TransparencyError as exc:
        raise _checkpoint_refusal(exc) from exc
    # 6. the leaf is this list, logged with its curators
    try:
        leaf = parse_leaf(bundle.leaf)
    except herr.LeafFormatError as exc:
        raise UpdateBundleInvalid(f"the log leaf does not parse: {exc}") from exc
    field = leaf_mismatch(leaf, hash_list)
    if field is not None:
        raise LeafMismatch(f"the log leaf's {field} does not match the list offered")
    signed = {
        s.public_key for s in hash_list.signatures if curators.key_id(s.public_key) is not None
    }
    if len(signed & set(leaf.curators)) < curators.threshold:
        raise ListNotCuratorSigned(
            "the log leaf does not name enough of the trusted curators who signed the list"
        )
    # 7. inclusion
    try:
        verify_leaf(bundle.leaf, bundle.leaf_index, bundle.inclusion_proof, verified.checkpoint)
    except herr.TransparencyError as exc:
        raise NotInLog(f"the list's leaf is not in the log's checkpoint: {exc}") from exc
    return AcceptedUpdate(
        hash_list=hash_list,
        state=TrustedState(hash_list.header.list_id, hash_list.header.version, hash_list.digest),
        checkpoint=new_trusted,
        leaf=leaf,
    )
