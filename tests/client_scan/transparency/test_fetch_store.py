"""Log readers read only the log's own paths, bounded; the trusted-state file upgrades the
states an app saved itself and survives a restart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from client_scan.errors import ListRolledBack, LogUnavailable, TrustStoreError
from client_scan.scanner import Scanner
from client_scan.transparency.fetch import HttpLog, directory_fetch
from client_scan.transparency.store import TrustStore
from hashes.lists import TrustedState, TrustPolicy
from tests.client_scan.transparency.published_log import CURATOR, chain


@pytest.mark.parametrize("path", ["../secret", "/etc/passwd", "tile/0/../../x", "tile/0/1"])
def test_only_log_paths_are_read(tmp_path: Path, path: str) -> None:
    (tmp_path / "secret").write_text("no")
    with pytest.raises(LogUnavailable):
        directory_fetch(tmp_path / "log")(path)


def test_an_oversized_tile_or_checkpoint_is_refused(tmp_path: Path) -> None:
    (tmp_path / "checkpoint").write_bytes(b"x" * 70_000)
    with pytest.raises(LogUnavailable):
        directory_fetch(tmp_path)("checkpoint")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/checkpoint"):
            return httpx.Response(200, content=b"x" * 70_000)
        return httpx.Response(404)

    with HttpLog("https://log.example/log", transport=httpx.MockTransport(handler)) as log:
        with pytest.raises(LogUnavailable, match="larger"):
            log("checkpoint")
        with pytest.raises(LogUnavailable, match="404"):
            log("tile/0/000")


def test_app_saved_states_are_merged_into_the_store(tmp_path: Path) -> None:
    v1, v2 = chain(2, expires_in_days=None)
    policy = TrustPolicy({"a": bytes(CURATOR.verify_key)})
    old_app = Scanner(policy)
    old_app.load_list(v1)
    old_app.load_list(v2)
    saved = old_app.trusted_states  # what the app kept before the store existed
    store = TrustStore(tmp_path / "trust.json")
    upgraded = Scanner(policy, trusted=saved, store=store)
    upgraded.load_list(v2)  # the same version again: written to the store
    restarted = Scanner(policy, store=TrustStore(tmp_path / "trust.json"))
    assert restarted.trusted_states["example"].version == 2
    with pytest.raises(ListRolledBack):
        restarted.load_list(v1)  # a rollback across the upgrade and the restart


def test_a_stale_given_state_does_not_lower_the_stored_one(tmp_path: Path) -> None:
    store = TrustStore(tmp_path / "trust.json")
    policy = TrustPolicy({"a": bytes(CURATOR.verify_key)})
    _, v2 = chain(2, expires_in_days=None)
    Scanner(policy, store=store).load_list(v2)
    old = TrustedState("example", 1, b"\x01" * 32)
    assert Scanner(policy, trusted=[old], store=store).trusted_states["example"].version == 2


def test_garbage_store_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    for text in ("[]", "{", '{"format": "frankly-device-trust", "v": 9}', "x" * 10):
        path.write_text(text)
        with pytest.raises(TrustStoreError):
            TrustStore(path).load()
