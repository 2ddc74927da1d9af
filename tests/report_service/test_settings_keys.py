"""Settings refuse placeholders outside development; key material round-trips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client_scan.errors import SealError
from client_scan.sealing import seal_report
from report_service.errors import ConfigError, KeyFileError, PlaceholderSecret
from report_service.intake import open_report
from report_service.keys import (
    generate_key_material,
    material_from_json,
    material_to_json,
    rotate_key,
)
from report_service.settings import load_settings


def test_placeholder_secrets_are_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRANKLY_METRICS_TOKEN", "changeme")
    with pytest.raises(PlaceholderSecret):
        load_settings(tmp_path)
    monkeypatch.setenv("FRANKLY_ENVIRONMENT", "development")
    assert load_settings(tmp_path).metrics_token is not None


def test_placeholder_database_password_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRANKLY_DATABASE_URL", "postgresql://frankly:changeme@db/frankly")
    with pytest.raises(PlaceholderSecret):
        load_settings(tmp_path)


def test_environment_overrides_the_settings_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "settings.toml").write_text("max_body_bytes = 1234\nrate_limit_burst = 7\n")
    monkeypatch.setenv("FRANKLY_RATE_LIMIT_BURST", "9")
    settings = load_settings(tmp_path)
    assert settings.max_body_bytes == 1234
    assert settings.rate_limit_burst == 9
    assert settings.resolved_key_file == tmp_path / "keys.json"
    assert settings.resolved_database_url.endswith("frankly.sqlite")


def test_invalid_settings_are_a_config_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FRANKLY_MAX_BODY_BYTES", "-1")
    with pytest.raises(ConfigError):
        load_settings(tmp_path)


def test_secrets_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRANKLY_METRICS_TOKEN", "a-real-secret-value-123")
    assert "a-real-secret-value-123" not in repr(load_settings(tmp_path))
    material = generate_key_material(os.urandom, 0)
    text = repr(material)
    for secret in material.secrets():
        assert secret.hex() not in text
        assert repr(secret) not in text


@given(
    st.integers(min_value=0, max_value=2**40), st.sampled_from(["franking", "sealing", "master"])
)
def test_key_material_round_trips_through_json(now: int, which: str) -> None:
    material = generate_key_material(os.urandom, now)
    rotated = rotate_key(material, which, os.urandom, now + 1)
    assert material_from_json(material_to_json(rotated)) == rotated


def test_retired_sealing_keys_keep_an_opener_for_their_own_reports() -> None:
    """Each sealing key opens reports with an opener built once with it; rotation (a
    ``replace`` of the old key) and a round trip through the key file rebuild it from the
    key's own bytes."""
    material = generate_key_material(os.urandom, 0)
    sealed_to_old = seal_report(b"{}", material.active_sealing.public_key)
    rotated = rotate_key(material, "sealing", os.urandom, 1)
    reloaded = material_from_json(material_to_json(rotated))
    for keys in (rotated, reloaded):
        old = keys.sealing_key(material.sealing_active)
        assert old.retired_at_ms == 1
        assert old.opener.open(sealed_to_old) == b"{}"
        with pytest.raises(SealError):
            keys.active_sealing.opener.open(sealed_to_old)
        sealed_to_new = seal_report(b"[]", keys.active_sealing.public_key)
        assert open_report(sealed_to_new, keys) == b"[]"
        assert open_report(sealed_to_old, keys) == b"{}"


def test_malformed_key_file_is_refused() -> None:
    good = material_to_json(generate_key_material(os.urandom, 0))
    bad = {**good, "master": {"active_kid": "nope", "keys": good["master"]["keys"]}}
    with pytest.raises(KeyFileError):
        material_from_json(bad)
    with pytest.raises(KeyFileError):
        material_from_json({"version": 1})
