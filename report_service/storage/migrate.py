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
        raise StorageError(f"database migration failed: {type(exc).__name__}") from exc


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
def open_database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the settings' database, upgraded to the newest schema first, for a
    command-line action; the engine is disposed on exit.

    The embedded SQLite default lives in the data folder, which is created (mode 0700)
    when missing.

    Raises:
        ConfigError: the URL names an unsupported backend.
        StorageError: the database is unreachable or a migration fails.
    """
    if settings.database_url is None:
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
