"""The auditor: check a whole published log, and say what changed since the last look.

:func:`audit_log` reads a published log through a ``fetch`` function (a directory or an
HTTP base URL) and checks, raising the first failure as a
:class:`~client_scan.errors.LogAuditFailed` subclass:

1. the checkpoint is signed by the log key and cosigned as the witness policy asks
   (``audit_checkpoint``);
2. every entry bundle parses and every entry is a well-formed leaf (``audit_leaf``);
3. the leaves hash to the checkpoint's root, and so do the tiles that devices read their
   proofs from (``audit_tree``);
4. the tree extends the checkpoint this auditor saw last: the first ``old.size`` leaves
   still hash to the old root, no smaller tree, no older cosignature (``audit_inconsistent``);
5. each list id's versions form a chain: version ``n + 1`` names version ``n``'s digest as
   ``previous_digest`` (``audit_chain``), across runs too (the state keeps each list's head);
6. with curator keys, every leaf names enough trusted curators; with list bodies (a
   ``lists_by_digest`` lookup, e.g. a folder of ``<digest hex>.list`` files), every body
   is signed by them and is exactly the list its leaf describes (``audit_list``).

It recomputes the tree from every entry on each run (a million leaves is a million
SHA-256 calls): an auditor wants the strongest check, not the cheapest.
:func:`describe_changes` says what each new version changed, as entry counts by category,
never hashes. Pure apart from ``fetch`` and ``lists_by_digest``.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from client_scan.bounded_json import JsonInputError, parse_json
from client_scan.errors import (
    AuditChainBroken,
    AuditCheckpointInvalid,
    AuditInconsistent,
    AuditLeafInvalid,
    AuditListInvalid,
    AuditTreeMismatch,
)
from client_scan.transparency.bundle import CHECKPOINT_PATH, Fetch
from client_scan.transparency.rule import leaf_mismatch
from hashes import errors as herr
from hashes.lists import HashList, TrustPolicy, load_list, parse_list
from hashes.lists.diff import diff_lists
from hashes.transparency.checkpoint import parse_checkpoint
from hashes.transparency.cosignature import WitnessPolicy
from hashes.transparency.leaf import ListLeaf, parse_leaf
from hashes.transparency.merkle import consistency_proof, hash_leaf, memory_reader, root_hash
from hashes.transparency.note import NoteVerifier
from hashes.transparency.tiles import TILE_WIDTH, TileReader, decode_entry_bundle, tile_path
from hashes.transparency.verify import TrustedCheckpoint, check_update, verify_checkpoint

__all__ = [
    "AuditReport",
    "AuditState",
    "Head",
    "audit_log",
    "describe_changes",
    "directory_lists",
    "load_state",
    "save_state",
]

ListLookup = Callable[[bytes], bytes | None]
"""The list file whose digest is given, or ``None`` when the auditor does not have it."""


@dataclass(frozen=True, slots=True)
class Head:
    """The newest logged version of one list id."""

    version: int
    digest: bytes


@dataclass(frozen=True, slots=True)
class AuditState:
    """What an auditor remembers between runs: the checkpoint and each list's head."""

    checkpoint: TrustedCheckpoint | None = None
    heads: Mapping[str, Head] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of one run: the new state, the leaves added since the last run (index,
    leaf), and how many list bodies were checked."""

    state: AuditState
    size: int
    new_leaves: tuple[tuple[int, ListLeaf], ...]
    bodies_checked: int
    witnesses: tuple[str, ...]


def directory_lists(folder: str | Path) -> ListLookup:
    """Look list bodies up in a folder of ``<digest hex>.list`` files."""
    base = Path(folder)

    def lookup(digest: bytes) -> bytes | None:
        try:
            return (base / f"{digest.hex()}.list").read_bytes()
        except FileNotFoundError:
            return None

    return lookup


def _entries(fetch: Fetch, size: int) -> list[bytes]:
    out: list[bytes] = []
    for b in range(0, size, TILE_WIDTH):
        width = min(TILE_WIDTH, size - b)
        try:
            out += decode_entry_bundle(fetch(tile_path(None, b // TILE_WIDTH, width)), width)
        except herr.TileFormatError as exc:
            raise AuditLeafInvalid(f"entry bundle {b // TILE_WIDTH}: {exc}") from exc
    return out


def _check_body(
    leaf: ListLeaf, index: int, lookup: ListLookup | None, curators: TrustPolicy | None
) -> HashList | None:
    if curators is not None:
        trusted = [k for k in leaf.curators if curators.key_id(k) is not None]
        if len(trusted) < curators.threshold:
            raise AuditListInvalid(
                f"leaf {index} ({leaf.list_id!r} v{leaf.version}) names {len(trusted)} trusted "
                f"curator(s), the policy needs {curators.threshold}"
            )
    body = lookup(leaf.digest) if lookup is not None else None
    if body is None:
        return None
    try:
        hash_list = load_list(body, curators) if curators is not None else parse_list(body)[0]
    except herr.HashListError as exc:
        raise AuditListInvalid(f"leaf {index}: its list body is refused: {exc}") from exc
    mismatch = leaf_mismatch(leaf, hash_list)
    if mismatch is not None:
        raise AuditListInvalid(f"leaf {index}: the list body's {mismatch} differs from the leaf")
    return hash_list


def audit_log(
    fetch: Fetch,
    *,
    log_key: NoteVerifier,
    witnesses: WitnessPolicy,
    state: AuditState,
    now_s: int,
    curators: TrustPolicy | None = None,
    lists_by_digest: ListLookup | None = None,
    require_lists: bool = False,
) -> AuditReport:
    """Check the whole log (module docstring) and return the state to keep.

    Raises:
        AuditCheckpointInvalid, AuditLeafInvalid, AuditTreeMismatch, AuditInconsistent,
        AuditChainBroken, AuditListInvalid: the log is wrong (see the module docstring).
        LogUnavailable: from ``fetch``.
    """
    try:
        verified = verify_checkpoint(fetch(CHECKPOINT_PATH), log_key, witnesses, now_s=now_s)
    except herr.TransparencyError as exc:
        raise AuditCheckpointInvalid(f"the checkpoint is refused: {exc}") from exc
    cp = verified.checkpoint
    entries = _entries(fetch, cp.size)
    hashes = [hash_leaf(e) for e in entries]
    reader = memory_reader(hashes)
    if not hmac.compare_digest(root_hash(cp.size, reader), cp.root_hash):
        raise AuditTreeMismatch(f"the {cp.size} entries do not hash to the checkpoint's root")
    try:
        tiles_root = root_hash(cp.size, TileReader(cp.size, fetch))
    except herr.TransparencyError as exc:
        raise AuditTreeMismatch(f"the tiles are malformed: {exc}") from exc
    if not hmac.compare_digest(tiles_root, cp.root_hash):
        raise AuditTreeMismatch("the tiles do not hash to the checkpoint's root")
    old = state.checkpoint
    old_size = 0 if old is None else old.checkpoint.size
    if (
        old is not None
        and old_size <= cp.size
        and not hmac.compare_digest(root_hash(old_size, reader), old.checkpoint.root_hash)
    ):
        raise AuditInconsistent(
            f"the first {old_size} leaves no longer hash to the root seen before: a fork"
        )
    try:
        # the proof comes from the auditor's own copy of the leaves
        proof = consistency_proof(old_size, cp.size, reader) if 0 < old_size < cp.size else []
        new_trusted = check_update(old, verified, proof)
    except herr.TransparencyError as exc:
        raise AuditInconsistent(
            f"the log does not extend the checkpoint seen before: {exc}"
        ) from exc
    heads = dict(state.heads)
    new_leaves: list[tuple[int, ListLeaf]] = []
    checked = 0
    seen: dict[str, Head] = {}
    for index, entry in enumerate(entries):
        try:
            leaf = parse_leaf(entry)
        except herr.LeafFormatError as exc:
            raise AuditLeafInvalid(f"leaf {index} does not parse: {exc}") from exc
        previous = seen.get(leaf.list_id)
        if previous is not None and (
            leaf.version != previous.version + 1
            or leaf.previous_digest is None
            or not hmac.compare_digest(leaf.previous_digest, previous.digest)
        ):
            raise AuditChainBroken(
                f"leaf {index}: {leaf.list_id!r} v{leaf.version} is not the successor of the "
                f"logged v{previous.version}"
            )
        seen[leaf.list_id] = Head(leaf.version, leaf.digest)
        if index < old_size:
            continue
        body = _check_body(leaf, index, lists_by_digest, curators)
        if body is None and require_lists:
            raise AuditListInvalid(f"leaf {index}: no list body with digest {leaf.digest.hex()}")
        checked += body is not None
        new_leaves.append((index, leaf))
    for list_id, head in heads.items():
        now = seen.get(list_id)
        if now is None or now.version < head.version:
            raise AuditInconsistent(f"{list_id!r} v{head.version} seen before is gone")
    heads.update(seen)
    names = tuple(c.witness.name for c in verified.cosignatures)
    return AuditReport(AuditState(new_trusted, heads), cp.size, tuple(new_leaves), checked, names)


def describe_changes(
    leaf: ListLeaf, lookup: ListLookup | None, previous_digest: bytes | None = None
) -> list[str]:
    """Lines saying what a logged version is and changed: entry counts by category (and
    added/removed per category against the previous version when both bodies are at hand).
    Never a hash of an entry."""
    lines = [
        f"{leaf.list_id} v{leaf.version}: {leaf.count} {leaf.algorithm} entries"
        + (f", expires at {leaf.expires_at_ms} ms" if leaf.expires_at_ms else ", no expiry")
        + f", {len(leaf.curators)} curator signature(s)"
    ]
    body = lookup(leaf.digest) if lookup is not None else None
    if body is None:
        return [*lines, "  (list body not available: counts by category unknown)"]
    new = parse_list(body)[0]
    prev_body = lookup(previous_digest) if lookup is not None and previous_digest else None
    old = parse_list(prev_body)[0] if prev_body is not None else None
    counts = np.bincount(new.categories.astype(np.int64), minlength=len(new.header.categories))
    added: dict[str, int] = {}
    removed: dict[str, int] = {}
    if old is not None and old.header.algorithm is new.header.algorithm:
        d = diff_lists(old, new)
        for i in d.added:
            added[new.category(int(i))] = added.get(new.category(int(i)), 0) + 1
        for i in d.removed:
            removed[old.category(int(i))] = removed.get(old.category(int(i)), 0) + 1
    for name, n in zip(new.header.categories, counts, strict=True):
        change = f" (+{added.get(name, 0)} -{removed.get(name, 0)})" if old is not None else ""
        lines.append(f"  {name}: {int(n)}{change}")
    for name in sorted(set(removed) - set(new.header.categories)):
        lines.append(f"  {name}: 0 (+0 -{removed[name]})")
    return lines


def _state_doc(state: AuditState) -> bytes:
    cp = state.checkpoint
    doc = {
        "format": "frankly-log-auditor",
        "v": 1,
        "checkpoint": None
        if cp is None
        else {"body": cp.checkpoint.body(), "cosigned_at": cp.cosigned_at},
        "heads": {
            k: {"version": h.version, "digest": h.digest.hex()}
            for k, h in sorted(state.heads.items())
        },
    }
    return json.dumps(doc, indent=1, sort_keys=True).encode() + b"\n"


def load_state(path: Path) -> AuditState:
    """The auditor's state file (empty state when missing; narrowed to 0600 when read).

    Raises:
        AuditInconsistent: the file is malformed (never silently reset).
    """
    try:
        with path.open("rb") as f:
            os.chmod(path, 0o600)
            data = f.read(16 * 1024 * 1024 + 1)
    except FileNotFoundError:
        return AuditState()
    try:
        doc = parse_json(data, max_bytes=16 * 1024 * 1024)
        if not isinstance(doc, dict) or doc.get("format") != "frankly-log-auditor":
            raise ValueError("not an auditor state file")
        cp_doc = doc["checkpoint"]
        cosigned = None if cp_doc is None else cp_doc["cosigned_at"]
        if cosigned is not None and (isinstance(cosigned, bool) or not isinstance(cosigned, int)):
            raise ValueError("cosigned_at is an integer or null")
        checkpoint = (
            None
            if cp_doc is None
            else TrustedCheckpoint(parse_checkpoint(cp_doc["body"]), cosigned)
        )
        heads = {
            str(k): Head(int(v["version"]), _digest(v["digest"])) for k, v in doc["heads"].items()
        }
    except (JsonInputError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AuditInconsistent(f"the auditor state file {path} is malformed: {exc}") from exc
    except herr.HashesError as exc:
        raise AuditInconsistent(f"the auditor state file {path} is malformed: {exc}") from exc
    return AuditState(checkpoint, heads)


def _digest(text: object) -> bytes:
    if not isinstance(text, str) or len(text) != 64:
        raise ValueError("a digest is 64 hex digits")
    return bytes.fromhex(text)


def save_state(path: Path, state: AuditState) -> None:
    """Write the auditor's state atomically, 0600."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(_state_doc(state))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
