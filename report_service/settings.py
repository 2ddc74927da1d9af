"""Service settings from the environment (prefix ``FRANKLY_``) and an optional TOML file.

Priority, highest first: explicit arguments (the CLI's ``--data``), environment variables,
the settings file (``FRANKLY_SETTINGS_FILE`` or ``<data>/settings.toml``), defaults.
Placeholder secrets are refused unless ``environment`` is ``development``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

from report_service.errors import ConfigError, PlaceholderSecret

DEFAULT_DATA_DIR = Path("frankly-data")
SETTINGS_FILE_NAME = "settings.toml"
KEY_FILE_NAME = "keys.json"
DB_FILE_NAME = "frankly.sqlite"

PLACEHOLDERS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "password",
        "postgres",
        "placeholder",
        "xxx",
        "todo",
    }
)


def is_placeholder(value: str) -> bool:
    """Whether ``value`` is a well-known placeholder rather than a real secret."""
    return value.strip().lower() in PLACEHOLDERS


class Settings(BaseSettings):
    """Everything the service reads from its environment. Secrets are ``SecretStr``."""

    model_config = SettingsConfigDict(env_prefix="FRANKLY_", extra="ignore", frozen=True)

    environment: Literal["development", "production"] = "production"
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: SecretStr | None = None
    key_file: Path | None = None
    log_level: str = "INFO"

    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_messages: int = Field(default=50, gt=0, le=50)
    max_attachments: int = Field(default=20, ge=0, le=20)
    rate_limit_per_minute: float = Field(default=60.0, gt=0)
    rate_limit_burst: int = Field(default=20, gt=0)

    relay_ttl_ms: int = Field(default=7 * 24 * 3600 * 1000, gt=0)
    relay_max_ciphertext_bytes: int = Field(default=1024 * 1024, gt=0)
    relay_max_batch: int = Field(default=100, gt=0)

    # The address ``frankly serve`` binds (``--host`` overrides it). The app reads it to
    # decide whether /metrics may answer without FRANKLY_METRICS_TOKEN: only on loopback.
    host: str = "127.0.0.1"
    metrics_token: SecretStr | None = None
    child_safety_categories: frozenset[str] = frozenset({"csam", "child_safety", "cse", "csae"})

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls),
            file_secret_settings,
        )

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "development":
            return self
        if self.metrics_token is not None and is_placeholder(self.metrics_token.get_secret_value()):
            raise PlaceholderSecret("FRANKLY_METRICS_TOKEN holds a placeholder value")
        if self.database_url is not None:
            try:
                password = make_url(self.database_url.get_secret_value()).password
            except Exception as exc:
                raise ConfigError("FRANKLY_DATABASE_URL cannot be parsed") from exc
            if password is not None and (is_placeholder(str(password))):
                raise PlaceholderSecret("FRANKLY_DATABASE_URL holds a placeholder password")
        return self

    @property
    def loopback_only(self) -> bool:
        """Whether the service listens on a loopback address only (``127.0.0.0/8``,
        ``::1``, ``localhost``); ``0.0.0.0``, ``::`` and any other name are not."""
        return is_loopback(self.host)

    @property
    def resolved_database_url(self) -> str:
        """The database URL: the setting, or SQLite under the data folder."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / DB_FILE_NAME).resolve()}"

    @property
    def resolved_key_file(self) -> Path:
        """The key file: the setting, or ``keys.json`` in the data folder."""
        return self.key_file if self.key_file is not None else self.data_dir / KEY_FILE_NAME


def is_loopback(host: str) -> bool:
    """Whether ``host`` names a loopback interface only."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def load_settings(
    data_dir: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from arguments, the environment and the settings file.

    ``environ`` defaults to ``os.environ`` and is read only to locate the settings file;
    the environment itself is read by pydantic-settings.

    Raises:
        PlaceholderSecret: a placeholder secret outside development.
        ConfigError: any other invalid setting.
    """
    env = os.environ if environ is None else environ
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    base_dir = Path(overrides.get("data_dir") or env.get("FRANKLY_DATA_DIR") or DEFAULT_DATA_DIR)
    file = Path(env.get("FRANKLY_SETTINGS_FILE") or base_dir / SETTINGS_FILE_NAME)
    config = dict(Settings.model_config)
    if file.is_file():
        config["toml_file"] = file
    cls = type("Settings", (Settings,), {"model_config": config})
    try:
        settings: Settings = cls(**overrides)
    except ValidationError as exc:
        for err in exc.errors():
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, ConfigError):
                raise cause from None
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise ConfigError(f"invalid settings: {fields}") from None
    return settings
