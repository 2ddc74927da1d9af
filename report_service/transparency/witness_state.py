"""A witness's files: its key file and its state file (both JSON, mode 0600).

The state file holds, per log the witness follows, the log's verifier key and the latest
checkpoint size and root it cosigned. :func:`locked_state` holds an exclusive lock on
``<state>.lock`` while the caller checks a checkpoint and writes the new state, so two
witness processes never cosign a rollback (c2sp.org/tlog-witness, "atomically").
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from client_scan.bounded_json import JsonInputError, parse_json
from hashes.errors import HashesError
from hashes.transparency.note import ALG_COSIGNATURE_V1, NoteSigner, parse_vkey
from hashes.transparency.witness import WitnessedLog
from report_service.errors import KeyFileError

STATE_VERSION = 1
MAX_FILE_BYTES = 1 << 20


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically to ``path`` with mode 0600."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _read_private(path: Path, what: str) -> Any:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"no {what} at {path}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{what} {path} is accessible to others: chmod 600 it")
    try:
        return parse_json(path.read_bytes(), max_bytes=MAX_FILE_BYTES)
    except (OSError, JsonInputError) as exc:
        raise KeyFileError(f"cannot read {what} {path} ({type(exc).__name__})") from None


def new_witness_key(name: str, seed: bytes) -> tuple[NoteSigner, dict[str, Any]]:
    """A cosignature/v1 witness key and its key-file object."""
    signer = NoteSigner.from_seed(name, seed, ALG_COSIGNATURE_V1)
    return signer, {"version": 1, "name": name, "seed": base64.b64encode(seed).decode()}


def load_witness_key(path: Path) -> NoteSigner:
    """Read a witness key file (refused when group or others can read it).

    Raises:
        KeyFileError: missing, too permissive or malformed.
    """
    obj = _read_private(path, "witness key file")
    try:
        seed = base64.b64decode(obj["seed"], validate=True)
        return NoteSigner.from_seed(str(obj["name"]), seed, ALG_COSIGNATURE_V1)
    except (KeyError, TypeError, ValueError, HashesError):
        raise KeyFileError(f"malformed witness key file {path}") from None


def load_state(path: Path) -> dict[str, WitnessedLog]:
    """The logs a witness follows, by origin (an empty state when the file is missing).

    Raises:
        KeyFileError: too permissive or malformed.
    """
    if not path.exists():
        return {}
    obj = _read_private(path, "witness state file")
    try:
        if obj["version"] != STATE_VERSION:
            raise KeyFileError(f"unsupported witness state version {obj['version']!r}")
        logs: dict[str, WitnessedLog] = {}
        for item in obj["logs"]:
            log = WitnessedLog(
                parse_vkey(str(item["vkey"])),
                int(item["size"]),
                base64.b64decode(item["root"], validate=True),
            )
            logs[log.origin] = log
        return logs
    except (KeyError, TypeError, ValueError, HashesError):
        raise KeyFileError(f"malformed witness state file {path}") from None


def save_state(path: Path, logs: dict[str, WitnessedLog]) -> None:
    """Write the state file atomically, mode 0600."""
    obj = {
        "version": STATE_VERSION,
        "logs": [
            {
                "vkey": log.log_key.vkey,
                "size": log.size,
                "root": base64.b64encode(log.root_hash).decode(),
            }
            for _, log in sorted(logs.items())
        ],
    }
    write_private(path, json.dumps(obj, indent=2).encode())


@contextmanager
def locked_state(path: Path) -> Iterator[dict[str, WitnessedLog]]:
    """The state under an exclusive lock; the caller saves it before leaving."""
    lock_path = path.with_name(path.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield load_state(path)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
