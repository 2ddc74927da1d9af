"""Programmatic Alembic upgrades: no alembic.ini is needed at run time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from report_service.errors import StorageError
from report_service.storage.engine import make_engine, make_session_factory

if TYPE_CHECKING:
    from report_service.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
MIGRATION_LOCK = 0x6672616E6B6C79  # "frankly": the advisory lock taken by schema upgrades


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade_engine(engine: Engine, revision: str = "heads") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (default: every head).

    Raises:
        StorageError: the database is unreachable or a migration fails.
    """
    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Several processes or hosts starting at once upgrade one at a time; the
                # later ones then find the schema current. (SQLite: BEGIN IMMEDIATE.)
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except Exception as exc:
        raise StorageError(
            f"database migration failed on {describe_database(engine.url)}: {describe_failure(exc)}"
        ) from exc


def describe_database(url: URL) -> str:
    """The database, host and port of ``url`` for a message, the password hidden."""
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        return shown
    port = url.port or (5432 if url.get_backend_name() == "postgresql" else None)
    return f"{shown} (database {url.database!r} on host {url.host or 'localhost'}, port {port})"


_KNOWN_FAILURES = (
    ('database "', "no such database"),
    ('role "', "no such user (role)"),
    ("password authentication failed", "authentication failed (wrong user or password)"),
    ("no password supplied", "authentication failed (the server wants a password)"),
    ("connection refused", "connection refused (is the server running and listening there?)"),
    ("failed to resolve host", "the host name cannot be resolved"),
    ("could not translate host name", "the host name cannot be resolved"),
    ("timeout", "the connection timed out"),
    ("unable to open database file", "the SQLite file cannot be opened or created"),
    ("file is not a database", "the file is not an SQLite database"),
    ("database is locked", "the SQLite database is locked by another process"),
    ("readonly database", "the SQLite file is read-only"),
)


def describe_failure(exc: BaseException) -> str:
    """What went wrong, in words: the driver's own words for the failures an operator
    meets (no such database, connection refused, authentication), else the error type."""
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    text = str(cause)
    lower = text.lower()
    for needle, meaning in _KNOWN_FAILURES:
        if needle in lower and (not needle.endswith('"') or "does not exist" in lower):
            detail = text.split("FATAL:")[-1].strip().splitlines()[0] if text else ""
            return f"{meaning}: {detail}" if detail else meaning
    return type(cause).__name__


def upgrade_database(url: str, revision: str = "heads") -> None:
    """Create or upgrade the schema of the database at ``url``.

    Raises:
        ConfigError: the URL names an unsupported backend.
        StorageError: the database is unreachable or a migration fails.
    """
    engine = make_engine(url)
    try:
        upgrade_engine(engine, revision)
    finally:
        engine.dispose()


@contextmanager
def open_database(settings: Settings, *, create: bool = True) -> Iterator[sessionmaker[Session]]:
    """Sessions on the settings' database, upgraded to the newest schema first, for a
    command-line action; the engine is disposed on exit.

    The embedded SQLite default lives in the data folder, which is created (mode 0700)
    when missing; with ``create=False`` (commands that only read or change what exists)
    a missing SQLite file is refused instead of quietly created empty.

    Raises:
        ConfigError: the URL names an unsupported backend.
        StorageError: the database is unreachable or a migration fails, or (``create``
            false) the data folder holds no database.
    """
    if settings.database_url is None:
        from report_service.settings import DB_FILE_NAME

        db_file = settings.data_dir / DB_FILE_NAME
        if not create and not db_file.exists():
            raise StorageError(
                f"no database at {db_file}: is {settings.data_dir} the service's data folder? "
                "Give --data DIR (or FRANKLY_DATA_DIR, or FRANKLY_DATABASE_URL)"
            )
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        upgrade_engine(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()


def current_revisions(engine: Engine) -> set[str]:
    """The revisions the database is at (empty for a fresh database)."""
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def head_revisions() -> set[str]:
    """The head revisions of the packaged migrations."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())
