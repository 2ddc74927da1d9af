"""The DSA settings read from the service's settings: mapping file and token."""

from __future__ import annotations

from report_service.errors import ConfigError
from report_service.escalation.dsa.mapping import DsaMapping, MappingError, load_mapping
from report_service.review.decisions.taxonomy import Decision
from report_service.settings import Settings

STATEMENT_DECISIONS = frozenset(
    d.value for d in Decision if d.violation and d is not Decision.ESCALATE_CHILD_SAFETY
)
"""The decisions that produce a statement: every violation except the move to the
child-safety queue, which restricts nothing (the child-safety team's decision does)."""


def mapping_from_settings(settings: Settings) -> DsaMapping:
    """The mapping: defaults, overridden by ``dsa_mapping_file`` when set.

    Raises:
        MappingError: the file is unreadable or invalid.
    """
    if settings.dsa_mapping_file is None:
        return load_mapping(None, STATEMENT_DECISIONS)
    try:
        data = settings.dsa_mapping_file.read_bytes()
    except OSError as exc:
        raise MappingError(f"cannot read the DSA mapping file: {exc.strerror}") from None
    return load_mapping(data, STATEMENT_DECISIONS)


def token_from_settings(settings: Settings) -> str | None:
    """The API token (``dsa_token``, else the first line of ``dsa_token_file``), or
    ``None`` when neither is set.

    Raises:
        ConfigError: the token file cannot be read, is readable by others, or is empty.
    """
    if settings.dsa_token is not None:
        return settings.dsa_token.get_secret_value()
    path = settings.dsa_token_file
    if path is None:
        return None
    try:
        if path.stat().st_mode & 0o077:
            raise ConfigError(f"{path} is readable by others: chmod 600 it")
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the DSA token file: {exc.strerror}") from None
    if not text:
        raise ConfigError("the DSA token file is empty")
    return text
