"""The device's trusted state in one file: the list versions and the log checkpoint it
accepted last, so that rollbacks, forks and replays are refused across restarts.

The file is JSON, written 0600 to a temporary name, flushed and renamed over the old one
(a crash leaves the old file or the new one, never half of either)::

    {"format": "frankly-device-trust", "v": 1,
     "lists": [{"list_id": "...", "version": 3, "digest": "<hex>"}, ...],
     "checkpoint": null | {"body": "<tlog-checkpoint body>", "cosigned_at": 1767225600 | null}}

Older files: until this store existed the app saved ``Scanner.trusted_states`` itself
(docs/client.md); pass those once as ``trusted=`` and the scanner writes them here. A file
without ``checkpoint`` (or ``null``) means the device has not trusted a log checkpoint
yet: its first bundle is taken on first use. A file that is more open than 0600 (made by
hand or by an older app) is narrowed to 0600 when it is read. The file is read as
untrusted input (bounded JSON).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from client_scan.bounded_json import JsonInputError, parse_json
from client_scan.errors import TrustStoreError
from hashes.errors import HashesError
from hashes.lists import TrustedState
from hashes.transparency.checkpoint import parse_checkpoint
from hashes.transparency.verify import TrustedCheckpoint

__all__ = ["DeviceTrust", "TrustStore", "TrustStoreError"]

FORMAT = "frankly-device-trust"
VERSION = 1
MAX_FILE_BYTES = 4 * 1024 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class DeviceTrust:
    """The list versions and the log checkpoint a device trusts."""

    lists: tuple[TrustedState, ...] = ()
    checkpoint: TrustedCheckpoint | None = None


def _encode(trust: DeviceTrust) -> bytes:
    import json

    cp = trust.checkpoint
    doc = {
        "format": FORMAT,
        "v": VERSION,
        "lists": [
            {"list_id": s.list_id, "version": s.version, "digest": s.digest.hex()}
            for s in sorted(trust.lists, key=lambda s: s.list_id)
        ],
        "checkpoint": None
        if cp is None
        else {"body": cp.checkpoint.body(), "cosigned_at": cp.cosigned_at},
    }
    return json.dumps(doc, indent=1, sort_keys=True).encode("utf-8") + b"\n"


def _decode(data: bytes) -> DeviceTrust:
    try:
        doc = parse_json(data, max_bytes=MAX_FILE_BYTES)
    except JsonInputError as exc:
        raise TrustStoreError(f"the trusted-state file is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise TrustStoreError("not a frankly device trusted-state file")
    if doc.get("v") != VERSION:
        raise TrustStoreError(f"unsupported trusted-state file version {doc.get('v')!r}")
    lists_doc = doc.get("lists", [])
    if not isinstance(lists_doc, list):
        raise TrustStoreError("lists must be an array")
    lists: list[TrustedState] = []
    for item in lists_doc:
        if not isinstance(item, dict):
            raise TrustStoreError("a list state must be an object")
        list_id, version, digest = item.get("list_id"), item.get("version"), item.get("digest")
        if (
            not isinstance(list_id, str)
            or not isinstance(version, int)
            or isinstance(version, bool)
            or not isinstance(digest, str)
            or not _HEX64.fullmatch(digest)
        ):
            raise TrustStoreError("a list state needs list_id, version and a hex digest")
        try:
            lists.append(TrustedState(list_id, version, bytes.fromhex(digest)))
        except ValueError as exc:
            raise TrustStoreError(f"a bad list state: {exc}") from exc
    if len({s.list_id for s in lists}) != len(lists):
        raise TrustStoreError("a list id appears twice")
    cp_doc = doc.get("checkpoint")
    checkpoint = None
    if cp_doc is not None:
        if not isinstance(cp_doc, dict) or not isinstance(cp_doc.get("body"), str):
            raise TrustStoreError("checkpoint must be null or an object with a body")
        cosigned = cp_doc.get("cosigned_at")
        if cosigned is not None and (isinstance(cosigned, bool) or not isinstance(cosigned, int)):
            raise TrustStoreError("cosigned_at must be an integer or null")
        try:
            checkpoint = TrustedCheckpoint(parse_checkpoint(cp_doc["body"]), cosigned)
        except HashesError as exc:
            raise TrustStoreError(f"the stored checkpoint does not parse: {exc}") from exc
    return DeviceTrust(tuple(lists), checkpoint)


class TrustStore:
    """The trusted-state file at ``path`` (created on the first :meth:`save`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> DeviceTrust:
        """The stored state; an empty one when the file does not exist yet.

        Raises:
            TrustStoreError: the file is unreadable or malformed.
        """
        try:
            with self.path.open("rb") as f:
                os.chmod(self.path, 0o600)
                data = f.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return DeviceTrust()
        except OSError as exc:
            raise TrustStoreError(f"cannot read {self.path}: {type(exc).__name__}") from exc
        return _decode(data)

    def save(self, trust: DeviceTrust) -> None:
        """Replace the stored state atomically (0600, fsynced).

        Raises:
            TrustStoreError: the file cannot be written.
        """
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(_encode(trust))
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise TrustStoreError(f"cannot write {self.path}: {type(exc).__name__}") from exc


def merged(stored: Iterable[TrustedState], given: Iterable[TrustedState]) -> list[TrustedState]:
    """Stored and app-given list states, the higher version winning per list id."""
    out: dict[str, TrustedState] = {}
    for state in [*stored, *given]:
        held = out.get(state.list_id)
        if held is None or state.version > held.version:
            out[state.list_id] = state
    return list(out.values())
