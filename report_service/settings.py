"""Service settings from the environment (prefix ``FRANKLY_``) and an optional TOML file.

Priority, highest first: explicit arguments (the CLI's ``--data``), environment variables,
the settings file (``FRANKLY_SETTINGS_FILE`` or ``<data>/settings.toml``), defaults.
Placeholder secrets are refused unless ``environment`` is ``development``. Unknown keys are
refused, in the settings file and among ``FRANKLY_*`` environment variables, so that a
misspelled setting never silently falls back to its default.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
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


MIN_METRICS_TOKEN_CHARS = 16
MIN_PRESERVATION_DAYS = 365
"""The REPORT Act's one year; the same figure as
:data:`report_service.escalation.preservation.policy.STATUTORY_MINIMUM_DAYS` (a test keeps
them equal; settings sit below the feature packages and do not import them)."""
MAX_PRESERVATION_DAYS = 36_500
ENV_PREFIX = "FRANKLY_"
NON_SETTING_ENV = frozenset({"FRANKLY_SETTINGS_FILE"})
"""``FRANKLY_*`` variables that are read but are not settings."""
NON_SETTING_ENV_PREFIXES = ("FRANKLY_TEST_", "FRANKLY_REQUIRE_")
"""``FRANKLY_*`` variables of the test harness, never read by the service."""


class _SettingRefused(ConfigError, ValueError):
    """A setting's value is refused; a ``ValueError`` so pydantic reports it, a
    ``ConfigError`` so :func:`load_settings` raises it as it is."""


def is_placeholder(value: str) -> bool:
    """Whether ``value`` is a well-known placeholder rather than a real secret."""
    return value.strip().lower() in PLACEHOLDERS


class Settings(BaseSettings):
    """Everything the service reads from its environment. Secrets are ``SecretStr``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    environment: Literal["development", "production"] = "production"
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: SecretStr | None = None
    key_file: Path | None = None
    log_level: str = "INFO"
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"

    max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_messages: int = Field(default=50, gt=0, le=50)
    max_attachments: int = Field(default=20, ge=0, le=20)
    rate_limit_per_minute: float = Field(default=60.0, gt=0)
    rate_limit_burst: int = Field(default=20, gt=0)

    relay_ttl_ms: int = Field(default=7 * 24 * 3600 * 1000, gt=0)
    relay_max_ciphertext_bytes: int = Field(default=1024 * 1024, gt=0)
    relay_max_batch: int = Field(default=100, gt=0)
    relay_page_max_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    relay_inbox_max_messages: int = Field(default=1000, gt=0)
    relay_inbox_max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    relay_sender_window_ms: int = Field(default=60_000, gt=0)
    relay_sender_max_messages: int = Field(default=120, gt=0)
    relay_sender_max_bytes: int = Field(default=16 * 1024 * 1024, gt=0)

    # Media re-hashing (issue 10, section 3): worker processes, and per picture a memory
    # budget checked from the header and a wall-clock limit enforced by killing the worker.
    media_workers: int = Field(default=2, gt=0, le=64)
    media_timeout_s: float = Field(default=4.0, gt=0, le=600)
    media_memory_mb: int = Field(default=144, gt=0, le=65536)
    # Video attachments (issue 16): per video a wall-clock limit (the worker is killed),
    # per report a total for all its videos, the longest duration decoded, and how many
    # keyframes are kept for review.
    video_timeout_s: float = Field(default=60.0, gt=0, le=600)
    video_report_budget_s: float = Field(default=120.0, gt=0, le=3600)
    video_max_duration_s: float = Field(default=1800.0, gt=0, le=7200)
    video_keyframes: int = Field(default=4, ge=1, le=16)
    # Query variants of a reported video (hashes.video.variants.VIDEO_VARIANT_PRESETS):
    # "service" finds mirrored, letterboxed and off-grid copies at about 1.5x vPDQ's CPU.
    video_query_variants: Literal["none", "device", "service", "all"] = "service"

    # The address ``frankly serve`` binds (``--host`` overrides it). The app reads it to
    # decide whether /metrics may answer without FRANKLY_METRICS_TOKEN: only on loopback.
    host: str = "127.0.0.1"
    metrics_token: SecretStr | None = None
    child_safety_categories: frozenset[str] = frozenset({"csam", "child_safety", "cse", "csae"})

    # Preservation holds placed by an NCMEC CyberTipline submission last this many days
    # (issue 14, "Preservation"): at least the REPORT Act's one year, configurable upward.
    preservation_days: int = MIN_PRESERVATION_DAYS
    # NCMEC CyberTipline (report_service.escalation.ncmec): nothing is sent unless the URL
    # and credentials are set. The reporter fields fill the report's ``reporter`` block.
    ncmec_url: str | None = None
    ncmec_username: str | None = None
    ncmec_password: SecretStr | None = None
    ncmec_password_file: Path | None = None
    ncmec_timeout_s: float = Field(default=60.0, gt=0, le=600)
    ncmec_max_attempts: int = Field(default=8, gt=0, le=100)
    ncmec_submit_interval_s: float = Field(default=60.0, ge=0, le=86400)
    ncmec_reporter_first_name: str = "Trust and Safety"
    ncmec_reporter_last_name: str = "Team"
    ncmec_reporter_email: str | None = None
    ncmec_company_template: str | None = None
    ncmec_legal_url: str | None = None
    ncmec_terms_of_service: str | None = None
    ncmec_esp_service: str = "Frankly messenger"
    # Webhooks (docs/escalation.md, "Webhooks"): the retry delays after the first attempt
    # (Standard Webhooks' recommended schedule; its length is the number of retries), the
    # request timeout, how often each `frankly serve` process looks for due deliveries (0:
    # never; run `frankly webhooks deliver` instead), and plain http to non-loopback hosts.
    webhook_retry_schedule_s: tuple[Annotated[float, Field(ge=0, le=7 * 24 * 3600)], ...] = Field(
        default=(5, 300, 1800, 7200, 18000, 36000, 36000), max_length=30
    )
    webhook_timeout_s: float = Field(default=15.0, gt=0, le=60)
    webhook_poll_interval_s: float = Field(default=2.0, ge=0, le=3600)
    webhook_allow_http: bool = False
    # Delivered rows are deleted this many days after delivery by the deliverer (or
    # `frankly webhooks prune`); pending and dead-lettered rows never are. 0: keep all.
    webhook_retention_days: int = Field(default=30, ge=0, le=3650)
    # EU DSA statements of reasons (docs/escalation.md): nothing is sent unless
    # ``dsa_endpoint`` and a token (``dsa_token`` or ``dsa_token_file``) are set.
    dsa_endpoint: str | None = None
    dsa_token: SecretStr | None = None
    dsa_token_file: Path | None = None
    dsa_mapping_file: Path | None = None
    dsa_batch_size: int = Field(default=100, ge=1, le=100)
    # How often each `frankly serve` process looks for due statements to send (when the
    # endpoint and a token are set); 0: never (then run `frankly dsa submit` from cron).
    dsa_submit_interval_s: float = Field(default=60.0, ge=0, le=86400)

    # Audit entries of claims, releases, item views and decisions: chained in their own
    # transaction (inline: every one waits for the chain head through its commit) or
    # recorded and chained by the sequencer within audit_sequence_interval_ms (deferred).
    # auto: deferred on PostgreSQL, inline on SQLite (whose writers queue on one lock
    # anyway).
    audit_sequencing: Literal["auto", "inline", "deferred"] = "auto"
    audit_sequence_interval_ms: int = Field(default=200, ge=10, le=60_000)

    def audit_deferred(self, dialect: str) -> bool:
        """Whether claims, releases, item views and decisions defer their audit entries on
        a database of ``dialect`` (SQLAlchemy's name: ``postgresql``, ``sqlite``)."""
        mode = self.audit_sequencing
        return mode == "deferred" or (mode == "auto" and dialect == "postgresql")

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

    @field_validator("preservation_days")
    @classmethod
    def _preservation_at_least_a_year(cls, days: int) -> int:
        if not MIN_PRESERVATION_DAYS <= days <= MAX_PRESERVATION_DAYS:
            raise _SettingRefused(
                f"FRANKLY_PRESERVATION_DAYS must be {MIN_PRESERVATION_DAYS} to "
                f"{MAX_PRESERVATION_DAYS} days: US law (18 U.S.C. 2258A(h), REPORT Act) asks "
                f"a provider to preserve a CyberTipline report for one year; got {days}"
            )
        return days

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "development":
            return self
        if self.metrics_token is not None and is_placeholder(self.metrics_token.get_secret_value()):
            raise PlaceholderSecret("FRANKLY_METRICS_TOKEN holds a placeholder value")
        if self.dsa_token is not None and is_placeholder(self.dsa_token.get_secret_value()):
            raise PlaceholderSecret("FRANKLY_DSA_TOKEN holds a placeholder value")
        if (
            self.metrics_token is not None
            and len(self.metrics_token.get_secret_value()) < MIN_METRICS_TOKEN_CHARS
        ):
            raise ConfigError(
                f"FRANKLY_METRICS_TOKEN is too short: use at least {MIN_METRICS_TOKEN_CHARS} "
                "random characters (e.g. `openssl rand -base64 32`)"
            )
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
        ConfigError: any other invalid setting: an unknown key in the settings file or
            an unknown ``FRANKLY_*`` environment variable (both named, with the known
            ones), a settings file that is not valid TOML, a value out of range.
    """
    env = os.environ if environ is None else environ
    _refuse_unknown_env(env)
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    base_dir = Path(overrides.get("data_dir") or env.get("FRANKLY_DATA_DIR") or DEFAULT_DATA_DIR)
    named = env.get("FRANKLY_SETTINGS_FILE")
    file = Path(named or base_dir / SETTINGS_FILE_NAME)
    if named and not file.is_file():
        raise ConfigError(f"FRANKLY_SETTINGS_FILE names {file}, which is not a file")
    config = dict(Settings.model_config)
    if file.is_file():
        _check_toml(file)
        config["toml_file"] = file
    cls = type("Settings", (Settings,), {"model_config": config})
    try:
        settings: Settings = cls(**overrides)
    except ValidationError as exc:
        for err in exc.errors():
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, ConfigError):
                raise cause from None
        raise ConfigError(f"invalid settings: {_describe(exc)}") from None
    except SettingsError as exc:  # a complex value (a list) that is not JSON
        raise ConfigError(f"invalid settings: {exc} (write lists as JSON)") from None
    return settings


def known_keys() -> list[str]:
    """Every settings key, as written in ``settings.toml`` (lower case)."""
    return sorted(Settings.model_fields)


def _refuse_unknown_env(env: Mapping[str, str]) -> None:
    known = {ENV_PREFIX + k.upper() for k in Settings.model_fields} | NON_SETTING_ENV
    for name in sorted(env):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in known:
            continue
        if upper.startswith(NON_SETTING_ENV_PREFIXES):
            continue
        names = ", ".join(sorted(known))
        raise ConfigError(f"unknown setting {name} in the environment; known: {names}")


def _check_toml(file: Path) -> None:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the settings file {file}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the settings file {file} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)} in {file}; known: {', '.join(known_keys())}"
        )


def _describe(exc: ValidationError) -> str:
    """``key: problem`` for each field pydantic refused (never the value: it may be a secret)."""
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "settings"
        parts.append(f"{key}: {err['msg']}")
    return "; ".join(parts)
