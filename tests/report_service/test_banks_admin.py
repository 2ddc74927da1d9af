"""``frankly banks ...`` and ``GET /v1/banks``: outside lists, trusted curator keys, curator
key rotation, and the service's published lists, seen by a running service at once."""

from __future__ import annotations

import base64
import os
import stat
import time
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from frankly.cli import main
from hashes.lists import TrustPolicy, build_list, load_list, sign_list
from hashes.values import Algorithm, HashValue
from report_service.app import create_app
from report_service.banks import SERVICE_LIST_ID, HashBanks
from report_service.errors import BankError
from report_service.keys import KeyMaterial, load_key_file
from report_service.settings import Settings

from .conftest import Service


def pdq(n: int) -> HashValue:
    return HashValue(Algorithm.PDQ, bytes([n]) * 16 + bytes([255 - n]) * 16)


def outside_list(key: SigningKey, version: int = 1) -> bytes:
    return sign_list(
        build_list(
            list_id="ngo-list",
            version=version,
            issued_at_ms=1,
            algorithm=Algorithm.PDQ,
            threshold=31,
            categories=["csam"],
            hashes=[pdq(7)],
            entry_categories=[0],
        ),
        key,
    )


@pytest.fixture
def data(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FRANKLY_DATABASE_URL", database_url)
    monkeypatch.setenv("FRANKLY_ENVIRONMENT", "development")
    folder = tmp_path / "data"
    assert main(["keys", "init", "--data", str(folder)]) == 0
    return folder


def running_banks(data: Path, database_url: str) -> tuple[HashBanks, object]:
    """The banks of a service process started before the commands run."""
    settings = Settings(environment="development", data_dir=data, database_url=database_url)
    app = create_app(settings)
    return app.state.banks, app


def test_an_outside_list_is_refused_until_its_curator_is_trusted_then_matched_live(
    data: Path, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    banks, app = running_banks(data, database_url)
    try:
        ngo = SigningKey(os.urandom(32))
        file = tmp_path / "ngo.list"
        file.write_bytes(outside_list(ngo))
        capsys.readouterr()
        assert main(["banks", "import", str(file), "--data", str(data)]) == 2
        assert "not name" in capsys.readouterr().err  # signed by an unknown curator
        public = base64.b64encode(bytes(ngo.verify_key)).decode()
        assert main(["banks", "trust", "ngo", public, "--data", str(data)]) == 0
        assert main(["banks", "trust", "ngo", public, "--data", str(data)]) == 2  # taken
        assert main(["banks", "import", str(file), "--data", str(data)]) == 0
        assert "list ngo-list version 1 is in use" in capsys.readouterr().out
        # The service process that was already running matches it without a restart (a
        # deadline, not a measurement: a loaded machine can miss a 1 s bound).
        deadline = time.monotonic() + 60.0
        while not banks.match([pdq(7)]):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert main(["banks", "list", "--data", str(data)]) == 0
        out = capsys.readouterr().out
        assert "list ngo-list: version 1, 1 entries" in out
        assert "signed by ngo" in out
        assert "curator ngo (trusted)" in out
        # The list needs that key: untrusting it is refused.
        assert main(["banks", "untrust", "ngo", "--data", str(data)]) == 2
        assert "would no longer be trusted" in capsys.readouterr().err
    finally:
        banks.close()
        app.state.engine.dispose()  # type: ignore[attr-defined]


def test_bad_curator_keys_and_files_are_clear_errors(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["banks", "trust", "x", "not-a-key", "--data", str(data)]) == 2
    assert "32 bytes" in capsys.readouterr().err
    assert main(["banks", "trust", "bad id!", "A" * 43 + "=", "--data", str(data)]) == 2
    assert "curator id" in capsys.readouterr().err
    assert main(["banks", "import", str(data / "missing.list"), "--data", str(data)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["banks", "untrust", "nobody", "--data", str(data)]) == 2
    assert "no stored curator key" in capsys.readouterr().err


def test_rotating_the_curator_key_keeps_every_version_trusted_and_hands_lists_over(
    data: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    old_banks, old_app = running_banks(data, database_url)  # keeps the old key file
    try:
        old_keys: KeyMaterial = load_key_file(data / "keys.json")
        old_banks.add_entry(pdq(1), "csam", "e1", 1)
        assert main(["banks", "rotate-curator", "--data", str(data)]) == 0
        out = capsys.readouterr().out
        assert "handover version signed by both keys: frankly-service-bank v2" in out
        new_keys = load_key_file(data / "keys.json")
        assert new_keys.curator.kid != old_keys.curator.kid
        backup = data / f"keys.json.{old_keys.curator.kid}.bak"
        assert load_key_file(backup).curator.seed == old_keys.curator.seed
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        # The handover version verifies under the old key alone and the new key alone.
        handover = old_banks.export()
        for key in (old_keys.curator.public_key, new_keys.curator.public_key):
            assert load_list(handover, TrustPolicy(curator_keys={"k": key})).header.version == 2
        # A process started with the new key file loads every stored version ...
        new_banks, new_app = running_banks(data, database_url)
        try:
            # ... and a process still on the old key file banks; the new one accepts it.
            old_banks.add_entry(pdq(2), "csam", "e2", 2)
            assert new_banks.add_entry(pdq(3), "csam", "e3", 3).version == 4
            v4 = load_list(
                new_banks.export(), TrustPolicy(curator_keys={"n": new_keys.curator.public_key})
            )
            assert len(v4) == 3
        finally:
            new_banks.close()
            new_app.state.engine.dispose()  # type: ignore[attr-defined]
    finally:
        old_banks.close()
        old_app.state.engine.dispose()  # type: ignore[attr-defined]


def test_the_service_publishes_its_lists_over_http(service: Service) -> None:
    banks: HashBanks = service.app.state.banks
    auth = service.auth("alice")
    assert service.client.get("/v1/banks", headers=auth).json()["lists"] == []
    assert service.client.get(f"/v1/banks/{SERVICE_LIST_ID}", headers=auth).status_code == 404
    banks.add_entry(pdq(1), "csam", "e1", 1)
    banks.add_entry(pdq(2), "ncii", "e2", 2)
    index = service.client.get("/v1/banks", headers=auth).json()
    (entry,) = index["lists"]
    assert (entry["list_id"], entry["version"], entry["entries"]) == (SERVICE_LIST_ID, 2, 2)
    assert entry["signed_by"] == [service.keys.curator.kid]
    (curator,) = index["curators"]
    assert base64.b64decode(curator["public_key"]) == service.keys.curator.public_key
    answer = service.client.get(f"/v1/banks/{SERVICE_LIST_ID}", headers=auth)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["x-list-version"] == "2"
    policy = TrustPolicy(curator_keys={"svc": service.keys.curator.public_key})
    published = load_list(answer.content, policy)
    assert answer.headers["etag"] == f'"{published.digest.hex()}"'
    again = service.client.get(
        f"/v1/banks/{SERVICE_LIST_ID}", headers={**auth, "If-None-Match": answer.headers["etag"]}
    )
    assert again.status_code == 304
    assert service.client.get("/v1/banks").status_code == 401
    assert service.client.get(f"/v1/banks/{SERVICE_LIST_ID}").status_code == 401
    assert service.client.get("/v1/banks/nope", headers=auth).status_code == 404


def test_trusting_a_key_twice_or_under_a_taken_id_is_refused(service: Service) -> None:
    banks: HashBanks = service.app.state.banks
    key = bytes(SigningKey(os.urandom(32)).verify_key)
    banks.trust_curator("ngo", key, 1)
    with pytest.raises(BankError, match="trusted already"):
        banks.trust_curator("ngo-2", key, 2)
    with pytest.raises(BankError, match="taken"):
        banks.trust_curator("ngo", bytes(SigningKey(os.urandom(32)).verify_key), 3)
    assert [c.kid for c in banks.curators()] == [service.keys.curator.kid, "ngo"]


def test_export_writes_the_signed_bytes(
    data: Path, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["banks", "export", "--data", str(data)]) == 2  # nothing banked yet
    ngo = SigningKey(os.urandom(32))
    file = tmp_path / "ngo.list"
    file.write_bytes(outside_list(ngo))
    public = bytes(ngo.verify_key).hex()
    assert main(["banks", "trust", "ngo", public, "--data", str(data)]) == 0
    assert main(["banks", "import", str(file), "--data", str(data)]) == 0
    out = tmp_path / "out.list"
    assert main(["banks", "export", "--list", "ngo-list", "-o", str(out), "--data", str(data)]) == 0
    assert out.read_bytes() == file.read_bytes()
    capfdbinary.readouterr()
    assert main(["banks", "export", "--list", "ngo-list", "--data", str(data)]) == 0
    assert capfdbinary.readouterr().out == file.read_bytes()
