"""Consistent backups of a data folder's database and key file, and restoring them.

A backup is a new folder (mode 0700) holding, each file mode 0600:

================  ===========================================================================
``keys.json``     the key file, byte for byte
``frankly.sqlite`` SQLite: a consistent copy made with SQLite's online backup API (the
                  service may keep running; the copy is a single file, no WAL)
``database.dump`` PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot; the
                  server password goes through the environment, never the command line)
``MANIFEST.json`` format, time, database kind, SHA-256 of each file, the audit chain head
                  in the copy (or, for PostgreSQL, just before the dump), the schema
                  revisions and the master key ids the copy's live evidence needs
================  ===========================================================================

Consistency. The key file is read before and after the database is copied; if it changed
in between (a rotation or retirement ran), the copy is made again. Then every master key
id that a live (not destroyed) data key in the copy is wrapped under must be in the saved
key file, or the backup fails: a backup that could not open its own evidence is worse than
none.

Restoring never overwrites: the target key file must not exist and the target database
must be empty (SQLite: no file; PostgreSQL: no tables). The files are checked against the
manifest first. Afterwards the schema is upgraded and the audit chain verified.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, make_url

from report_service.errors import ConfigError, ServiceError, StorageError
from report_service.keys import load_key_file

FORMAT = "frankly-backup/1"
MANIFEST = "MANIFEST.json"
KEYS = "keys.json"
SQLITE_FILE = "frankly.sqlite"
PG_DUMP_FILE = "database.dump"
ATTEMPTS = 3


class BackupError(ServiceError):
    """A backup or restore cannot be made (its message says why and what to do)."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """Where the backup went and what it holds."""

    folder: Path
    manifest: Mapping[str, Any]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _private_file(path: Path) -> int:
    """Create ``path`` (must not exist) with mode 0600; return its descriptor."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


def _backend(url: str) -> str:
    return make_url(url).get_backend_name()


def _libpq_env(url: str) -> dict[str, str]:
    """libpq environment variables for ``url`` (keeps the password off the command line)."""
    u = make_url(url)
    env = dict(os.environ)
    for var, value in (
        ("PGHOST", u.host),
        ("PGPORT", None if u.port is None else str(u.port)),
        ("PGUSER", u.username),
        ("PGPASSWORD", u.password),
        ("PGDATABASE", u.database),
    ):
        if value:
            env[var] = str(value)
    return env


def pg_tool(name: str) -> str:
    """The path of ``pg_dump`` / ``pg_restore``.

    Raises:
        BackupError: it is not installed.
    """
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools of the "
            "server's major version (Debian: apt-get install postgresql-client)"
        )
    return found


def _copy_sqlite(db_path: Path, dest: Path) -> None:
    if not db_path.is_file():
        raise BackupError(f"no database at {db_path}")
    os.close(_private_file(dest))
    src = sqlite3.connect(db_path)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    os.chmod(dest, 0o600)


def _dump_postgres(url: str, dest: Path) -> None:
    tool = pg_tool("pg_dump")
    fd = _private_file(dest)
    try:
        done = subprocess.run(  # noqa: S603 (fixed arguments, no shell; URL via env)
            [tool, "--format=custom", "--no-owner", "--no-privileges"],
            stdout=fd,
            stderr=subprocess.PIPE,
            env=_libpq_env(url),
            check=False,
        )
    finally:
        os.close(fd)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise BackupError(f"pg_dump failed: {' '.join(message) or done.returncode}")


def _facts(engine: Engine) -> dict[str, Any]:
    """Audit head, schema revisions and the master key ids live evidence needs."""
    from sqlalchemy.orm import Session

    from report_service.review.audit import store as audit_store
    from report_service.review.lifecycle.rewrap import wrapped_under
    from report_service.storage.migrate import current_revisions

    with Session(engine) as session:
        head = audit_store.audit_head(session)
        kids = sorted(wrapped_under(session))
    return {
        "audit_head": {"seq": head.seq, "hash": head.hash},
        "schema_revisions": sorted(current_revisions(engine)),
        "master_key_ids_needed": kids,
    }


def _os_problem(exc: OSError | sqlite3.Error) -> str:
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or type(exc).__name__}{where}"
    return f"SQLite: {exc}"


def backup(
    database_url: str,
    key_file: Path,
    dest: Path,
    *,
    clock: Callable[[], int],
) -> BackupResult:
    """Copy the database and the key file into the new folder ``dest`` (see the module).
    On failure nothing is left behind in ``dest`` (and ``dest`` itself is removed if this
    call created it).

    Raises:
        BackupError: ``dest`` exists and is not empty or cannot be written, the key file
            changed on every attempt, the key file lacks a master key the copy needs, or
            pg_dump failed.
        KeyFileError: the key file is missing or unsafe.
        ConfigError: an unsupported database URL.
    """
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty folder; choose a new one")
    created = not dest.exists()
    try:
        return _backup(database_url, key_file, dest, clock=clock)
    except BaseException as exc:
        for name in (KEYS, SQLITE_FILE, PG_DUMP_FILE, MANIFEST):
            with contextlib.suppress(OSError):
                (dest / name).unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):
                dest.rmdir()
        if isinstance(exc, OSError | sqlite3.Error):
            raise BackupError(f"cannot make the backup: {_os_problem(exc)}") from None
        raise


def _backup(
    database_url: str,
    key_file: Path,
    dest: Path,
    *,
    clock: Callable[[], int],
) -> BackupResult:
    from report_service.storage.engine import make_engine

    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(dest, 0o700)
    backend = _backend(database_url)
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database backend {backend!r}")
    db_name = SQLITE_FILE if backend == "sqlite" else PG_DUMP_FILE
    for _ in range(ATTEMPTS):
        load_key_file(key_file)  # refuses a missing, loose or malformed key file
        before = key_file.read_bytes()
        for name in (KEYS, db_name):
            (dest / name).unlink(missing_ok=True)
        if backend == "sqlite":
            db_path = Path(make_url(database_url).database or "")
            _copy_sqlite(db_path, dest / db_name)
            engine = make_engine(f"sqlite:///{dest / db_name}")
        else:
            engine = make_engine(database_url)
            facts_before = _facts(engine)
            _dump_postgres(database_url, dest / db_name)
        try:
            facts = _facts(engine) if backend == "sqlite" else facts_before
        finally:
            engine.dispose()
        if key_file.read_bytes() == before:
            break
    else:
        raise BackupError("the key file kept changing during the backup; try again")
    fd = _private_file(dest / KEYS)
    try:
        os.write(fd, before)
    finally:
        os.close(fd)
    held = {m.kid for m in load_key_file(dest / KEYS).master}
    missing = sorted(set(facts["master_key_ids_needed"]) - held)
    if missing:
        raise BackupError(
            f"the key file lacks master key(s) {', '.join(missing)} that the database's "
            "evidence needs; the backup would not open it"
        )
    manifest = {
        "format": FORMAT,
        "created_at_ms": clock(),
        "database": backend,
        "files": {name: _sha256(dest / name) for name in (KEYS, db_name)},
        **facts,
    }
    fd = _private_file(dest / MANIFEST)
    try:
        os.write(fd, json.dumps(manifest, indent=2).encode())
    finally:
        os.close(fd)
    return BackupResult(dest, manifest)


def read_manifest(src: Path) -> dict[str, Any]:
    """The backup's manifest, after checking every file against it.

    Raises:
        BackupError: no manifest, an unknown format, or a file missing or altered.
    """
    if not src.is_dir():
        raise BackupError(f"no backup folder at {src}")
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"{src} holds no readable {MANIFEST} ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{src / MANIFEST} is not a {FORMAT} manifest")
    for name, digest in dict(manifest.get("files", {})).items():
        path = src / str(name)
        if not path.is_file():
            raise BackupError(f"the backup lacks {name}")
        if _sha256(path) != digest:
            raise BackupError(f"{name} does not match the manifest (altered or truncated)")
    return manifest


def restore(src: Path, database_url: str, key_file: Path) -> dict[str, Any]:
    """Restore the backup in ``src`` into an empty database and a new key file.

    Returns the manifest. The caller then upgrades the schema and verifies the audit
    chain (``frankly restore`` does both). On failure the files this call created are
    removed again (a PostgreSQL restore is one transaction).

    Raises:
        BackupError: the backup is altered or incomplete, the target is not empty or
            cannot be written, the backends differ, or pg_restore failed.
    """
    made: list[Path] = []
    try:
        return _restore(src, database_url, key_file, made)
    except BaseException as exc:
        for path in made:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise BackupError(f"cannot restore: {_os_problem(exc)}") from None
        raise


def _restore(src: Path, database_url: str, key_file: Path, made: list[Path]) -> dict[str, Any]:
    from report_service.storage.engine import make_engine

    manifest = read_manifest(src)
    backend = _backend(database_url)
    if manifest["database"] != backend:
        raise BackupError(
            f"the backup holds a {manifest['database']} database but the target is {backend}"
        )
    if key_file.exists():
        raise BackupError(f"{key_file} exists: restore into a fresh data folder")
    if backend == "sqlite":
        db_path = Path(make_url(database_url).database or "")
        if db_path.exists():
            raise BackupError(f"{db_path} exists: restore into a fresh data folder")
        db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = _private_file(db_path)
        made.append(db_path)
        try:
            with (src / SQLITE_FILE).open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    os.write(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
    else:
        engine = make_engine(database_url)
        try:
            tables = inspect(engine).get_table_names()
        except Exception as exc:
            raise StorageError(f"cannot reach the target database ({type(exc).__name__})") from exc
        finally:
            engine.dispose()
        if tables:
            raise BackupError("the target database is not empty: restore into a new database")
        done = subprocess.run(  # noqa: S603 (fixed arguments, no shell; URL via env)
            [
                pg_tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                make_url(database_url).database or "",
                str(src / PG_DUMP_FILE),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=_libpq_env(database_url),
            check=False,
        )
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise BackupError(f"pg_restore failed: {' '.join(message) or done.returncode}")
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = _private_file(key_file)
    made.append(key_file)
    try:
        os.write(fd, (src / KEYS).read_bytes())
        os.fsync(fd)
    finally:
        os.close(fd)
    return manifest


__all__ = ["BackupError", "BackupResult", "backup", "read_manifest", "restore"]
