"""The service's key material and its key file (JSON, mode 0600).

Four kinds of keys, each with an id, so that rotation keeps old ones for what is in
flight (DESIGN.md, "Keys"):

- the franking keyring (HMAC keys that stamp relayed messages);
- report-sealing X25519 key pairs (one active; old private keys open reports in flight);
- evidence master keys (wrap the per-report data keys; old ones unwrap old evidence);
- the bank curator's Ed25519 signing key (signs the service's own hash-bank versions);
- optionally the transparency log's Ed25519 note key (signs the log's checkpoints,
  docs/transparency.md), added by ``frankly log init``.

The functions that build and rotate key material are pure: randomness and time are
parameters. :func:`load_key_file` and :func:`save_key_file` are the file adapter.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nacl.public import PrivateKey
from nacl.signing import SigningKey

from client_scan.bounded_json import JsonInputError, parse_json
from client_scan.errors import KeyringError
from client_scan.franking.keyring import FrankingKey, Keyring
from client_scan.sealing import ReportOpener
from hashes.transparency.note import NoteSigner
from report_service.errors import KeyFileError

KEY_FILE_VERSION = 1
SECRET_BYTES = 32

RandomBytes = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class SealingKey:
    """An X25519 key pair that reports are sealed to."""

    kid: str
    private_key: bytes = field(repr=False)
    created_at_ms: int
    retired_at_ms: int | None = None
    # Built once with the key: opening a report then costs no key derivation.
    opener: ReportOpener = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "opener", ReportOpener(self.private_key))

    @property
    def public_key(self) -> bytes:
        return bytes(PrivateKey(self.private_key).public_key)


@dataclass(frozen=True, slots=True)
class MasterKey:
    """A 32-byte evidence master key (XChaCha20-Poly1305) that wraps data keys."""

    kid: str
    key: bytes = field(repr=False)
    created_at_ms: int


@dataclass(frozen=True, slots=True)
class CuratorKey:
    """The Ed25519 seed the service signs its own hash-bank versions with."""

    kid: str
    seed: bytes = field(repr=False)
    created_at_ms: int

    @property
    def signing_key(self) -> SigningKey:
        return SigningKey(self.seed)

    @property
    def public_key(self) -> bytes:
        return bytes(self.signing_key.verify_key)


@dataclass(frozen=True, slots=True)
class LogKey:
    """The transparency log's Ed25519 note key: its origin (the key name) and seed."""

    origin: str
    seed: bytes = field(repr=False)
    created_at_ms: int

    @property
    def signer(self) -> NoteSigner:
        """The checkpoint signer (raises NoteFormatError for an unusable origin)."""
        return NoteSigner.from_seed(self.origin, self.seed)


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """Every key the service holds. ``repr`` shows ids only."""

    franking: Keyring
    sealing: tuple[SealingKey, ...]
    sealing_active: str
    master: tuple[MasterKey, ...]
    master_active: str
    curator: CuratorKey
    log: LogKey | None = None

    @property
    def active_sealing(self) -> SealingKey:
        return self.sealing_key(self.sealing_active)

    def sealing_key(self, kid: str) -> SealingKey:
        """The sealing key with id ``kid``.

        Raises:
            KeyFileError: no sealing key has that id.
        """
        for k in self.sealing:
            if k.kid == kid:
                return k
        raise KeyFileError(f"no sealing key {kid!r}")

    @property
    def active_master(self) -> MasterKey:
        return self.master_key(self.master_active)

    def master_key(self, kid: str) -> MasterKey:
        """The master key with id ``kid``.

        Raises:
            KeyFileError: no master key has that id.
        """
        for k in self.master:
            if k.kid == kid:
                return k
        raise KeyFileError(f"no master key {kid!r}")

    def secrets(self) -> list[bytes]:
        """Every secret byte string held (for tests that search logs for leaks)."""
        out = [k.secret for k in self.franking.keys]
        out += [k.private_key for k in self.sealing]
        out += [k.key for k in self.master]
        out.append(self.curator.seed)
        if self.log is not None:
            out.append(self.log.seed)
        return out


def _kid(prefix: str, random: RandomBytes) -> str:
    return f"{prefix}-{random(6).hex()}"


def generate_key_material(random: RandomBytes, now_ms: int) -> KeyMaterial:
    """Fresh key material: one key of each kind, all active."""
    fk = FrankingKey(_kid("fk", random), random(SECRET_BYTES), now_ms)
    sk = SealingKey(_kid("seal", random), random(SECRET_BYTES), now_ms)
    mk = MasterKey(_kid("mk", random), random(SECRET_BYTES), now_ms)
    ck = CuratorKey(_kid("curator", random), random(SECRET_BYTES), now_ms)
    return KeyMaterial(
        franking=Keyring(keys=(fk,), active_kid=fk.kid),
        sealing=(sk,),
        sealing_active=sk.kid,
        master=(mk,),
        master_active=mk.kid,
        curator=ck,
    )


ROTATABLE = ("franking", "sealing", "master")


def rotate_key(material: KeyMaterial, which: str, random: RandomBytes, now_ms: int) -> KeyMaterial:
    """Rotate one kind of key (``franking``, ``sealing`` or ``master``); old keys are kept
    (franking keys until the retention window passes).

    Raises:
        KeyFileError: ``which`` is not a rotatable kind.
    """
    if which == "franking":
        new = FrankingKey(_kid("fk", random), random(SECRET_BYTES), now_ms)
        return replace(material, franking=material.franking.rotate(new, now_ms))
    if which == "sealing":
        sk = SealingKey(_kid("seal", random), random(SECRET_BYTES), now_ms)
        old = tuple(
            replace(k, retired_at_ms=now_ms) if k.kid == material.sealing_active else k
            for k in material.sealing
        )
        return replace(material, sealing=(*old, sk), sealing_active=sk.kid)
    if which == "master":
        mk = MasterKey(_kid("mk", random), random(SECRET_BYTES), now_ms)
        return replace(material, master=(*material.master, mk), master_active=mk.kid)
    raise KeyFileError(f"cannot rotate {which!r}: choose one of {', '.join(ROTATABLE)}")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise KeyFileError(f"{what} must be base64")
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyFileError(f"{what} is not base64") from exc
    if len(raw) != SECRET_BYTES:
        raise KeyFileError(f"{what} must be {SECRET_BYTES} bytes")
    return raw


def material_to_json(material: KeyMaterial) -> dict[str, Any]:
    """The key file's JSON object (holds secrets: never log it)."""
    ring = material.franking
    return {
        "version": KEY_FILE_VERSION,
        "franking": {
            "active_kid": ring.active_kid,
            "retention_ms": ring.retention_ms,
            "max_skew_ms": ring.max_skew_ms,
            "keys": [
                {
                    "kid": k.kid,
                    "secret": _b64(k.secret),
                    "created_at_ms": k.created_at_ms,
                    "retired_at_ms": k.retired_at_ms,
                }
                for k in ring.keys
            ],
        },
        "sealing": {
            "active_kid": material.sealing_active,
            "keys": [
                {
                    "kid": k.kid,
                    "private_key": _b64(k.private_key),
                    "created_at_ms": k.created_at_ms,
                    "retired_at_ms": k.retired_at_ms,
                }
                for k in material.sealing
            ],
        },
        "master": {
            "active_kid": material.master_active,
            "keys": [
                {"kid": k.kid, "key": _b64(k.key), "created_at_ms": k.created_at_ms}
                for k in material.master
            ],
        },
        "curator": {
            "kid": material.curator.kid,
            "seed": _b64(material.curator.seed),
            "created_at_ms": material.curator.created_at_ms,
        },
        **_log_to_json(material.log),
    }


def _log_to_json(key: LogKey | None) -> dict[str, Any]:
    if key is None:
        return {}
    return {
        "log": {"origin": key.origin, "seed": _b64(key.seed), "created_at_ms": key.created_at_ms}
    }


def material_from_json(obj: Any) -> KeyMaterial:
    """Parse the key file's JSON object.

    Raises:
        KeyFileError: a field is missing or malformed, or the keyring is inconsistent.
    """
    try:
        if obj["version"] != KEY_FILE_VERSION:
            raise KeyFileError(f"unsupported key file version {obj['version']!r}")
        fr = obj["franking"]
        ring = Keyring(
            keys=tuple(
                FrankingKey(
                    kid=str(k["kid"]),
                    secret=_unb64(k["secret"], "franking secret"),
                    created_at_ms=int(k["created_at_ms"]),
                    retired_at_ms=None if k["retired_at_ms"] is None else int(k["retired_at_ms"]),
                )
                for k in fr["keys"]
            ),
            active_kid=str(fr["active_kid"]),
            retention_ms=int(fr["retention_ms"]),
            max_skew_ms=int(fr["max_skew_ms"]),
        )
        se = obj["sealing"]
        sealing = tuple(
            SealingKey(
                kid=str(k["kid"]),
                private_key=_unb64(k["private_key"], "sealing key"),
                created_at_ms=int(k["created_at_ms"]),
                retired_at_ms=None if k["retired_at_ms"] is None else int(k["retired_at_ms"]),
            )
            for k in se["keys"]
        )
        ma = obj["master"]
        master = tuple(
            MasterKey(
                kid=str(k["kid"]),
                key=_unb64(k["key"], "master key"),
                created_at_ms=int(k["created_at_ms"]),
            )
            for k in ma["keys"]
        )
        cu = obj["curator"]
        curator = CuratorKey(
            kid=str(cu["kid"]),
            seed=_unb64(cu["seed"], "curator key"),
            created_at_ms=int(cu["created_at_ms"]),
        )
        lo = obj.get("log")
        log = (
            None
            if lo is None
            else LogKey(
                origin=str(lo["origin"]),
                seed=_unb64(lo["seed"], "log key"),
                created_at_ms=int(lo["created_at_ms"]),
            )
        )
        material = KeyMaterial(
            log=log,
            franking=ring,
            sealing=sealing,
            sealing_active=str(se["active_kid"]),
            master=master,
            master_active=str(ma["active_kid"]),
            curator=curator,
        )
    except (KeyError, TypeError, ValueError, KeyringError) as exc:
        raise KeyFileError(f"malformed key file ({type(exc).__name__})") from None
    material.active_sealing  # noqa: B018  (raises KeyFileError when the active id is unknown)
    material.active_master  # noqa: B018
    return material


def load_key_file(path: Path) -> KeyMaterial:
    """Read the key file, refusing it when group or others can read it.

    Raises:
        KeyFileError: missing, unreadable, too permissive, or malformed.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"no key file at {path}: run `frankly keys init`") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"key file {path} is accessible to others: chmod 600 it")
    try:
        obj = parse_json(path.read_bytes(), max_bytes=None)
    except (OSError, JsonInputError) as exc:
        raise KeyFileError(f"cannot read key file {path} ({type(exc).__name__})") from None
    return material_from_json(obj)


def save_key_file(path: Path, material: KeyMaterial) -> None:
    """Write the key file atomically with mode 0600 (the data folder is created 0700).

    Raises:
        KeyFileError: the file cannot be written.
    """
    data = json.dumps(material_to_json(material), indent=2).encode("utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise KeyFileError(f"cannot write key file {path}: {exc.strerror}") from None
