"""The witness: ``frankly log ...`` end to end (log, publish, witness, cosign), refusing
forks and rollbacks; and the tlog-witness ``add-checkpoint`` endpoint over a socket."""

from __future__ import annotations

import hashlib
import shutil
import stat
from pathlib import Path

import httpx
import pytest

from frankly.cli import main
from hashes.transparency import (
    ALG_COSIGNATURE_V1,
    Checkpoint,
    NoteSigner,
    WitnessPolicy,
    consistency_proof,
    hash_leaf,
    memory_reader,
    parse_vkey,
    root_hash,
    sign_checkpoint,
    verify_checkpoint,
)
from hashes.transparency.witness import AddCheckpoint, WitnessedLog, encode_add_checkpoint
from report_service.keys import load_key_file
from report_service.server import BackgroundServer
from report_service.transparency.witness_http import create_witness_app
from report_service.transparency.witness_state import load_state, save_state
from tests.report_service.transparency.log_helpers import chain

ORIGIN = "lists.frankly.test/log"


def _out(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out


def test_log_and_witness_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert main(["keys", "init", "--data", str(data)]) == 0
    assert main(["log", "init", "--data", str(data), "--origin", ORIGIN]) == 0
    assert main(["log", "init", "--data", str(data)]) == 0  # idempotent
    _out(capsys)
    assert main(["log", "vkey", "--data", str(data)]) == 0
    log_vkey = _out(capsys).strip()
    assert parse_vkey(log_vkey).name == ORIGIN
    material = load_key_file(data / "keys.json")
    assert material.log is not None
    assert stat.S_IMODE((data / "keys.json").stat().st_mode) == 0o600

    files = []
    for i, blob in enumerate(chain(material.curator.signing_key, "ncmec", 4)):
        path = tmp_path / f"v{i + 1}.frkl"
        path.write_bytes(blob)
        files.append(str(path))
    assert main(["log", "append", "--data", str(data), *files[:2]]) == 0
    assert "logged at index 1" in _out(capsys)

    static = tmp_path / "static"
    assert main(["log", "publish", "--data", str(data), "--out", str(static)]) == 0
    wkey, wstate = tmp_path / "w.key", tmp_path / "w.state"
    assert main(["log", "witness", "keygen", "--name", "w.example/1", "--key", str(wkey)]) == 0
    witness_vkey = _out(capsys).split()[-1]
    assert stat.S_IMODE(wkey.stat().st_mode) == 0o600
    assert main(["log", "witness", "keygen", "--name", "w.example/1", "--key", str(wkey)]) == 2
    assert main(["log", "witness", "follow", "--state", str(wstate), "--log-vkey", log_vkey]) == 0
    assert stat.S_IMODE(wstate.stat().st_mode) == 0o600

    sigs = tmp_path / "cosig"
    witness = ["log", "witness", "cosign", "--state", str(wstate), "--key", str(wkey)]
    assert main([*witness, "--log-dir", str(static), "--out", str(sigs)]) == 0
    assert load_state(wstate)[ORIGIN].size == 2
    assert main(["log", "cosign", "--data", str(data), "--witness", witness_vkey,
                 "--signatures", str(sigs)]) == 0  # fmt: skip
    _out(capsys)
    assert main(["log", "checkpoint", "--data", str(data)]) == 0
    policy = WitnessPolicy((parse_vkey(witness_vkey),), 1)
    cosigned = verify_checkpoint(_out(capsys).encode(), parse_vkey(log_vkey), policy)
    assert cosigned.checkpoint.size == 2

    # The log grows: the witness checks consistency from size 2 and cosigns size 4.
    assert main(["log", "append", "--data", str(data), *files[2:]]) == 0
    assert main(["log", "publish", "--data", str(data), "--out", str(static)]) == 0
    assert main([*witness, "--log-dir", str(static)]) == 0
    assert load_state(wstate)[ORIGIN].size == 4
    capsys.readouterr()

    # A fork: the same log key over another history, larger than what the witness saw.
    fork_data = tmp_path / "fork"
    fork_data.mkdir(mode=0o700)
    shutil.copy2(data / "keys.json", fork_data / "keys.json")
    assert main(["log", "init", "--data", str(fork_data)]) == 0
    other = chain(material.curator.signing_key, "other", 6)
    other_files = []
    for i, blob in enumerate(other):
        path = tmp_path / f"o{i}.frkl"
        path.write_bytes(blob)
        other_files.append(str(path))
    assert main(["log", "append", "--data", str(fork_data), *other_files]) == 0
    fork_static = tmp_path / "fork-static"
    assert main(["log", "publish", "--data", str(fork_data), "--out", str(fork_static)]) == 0
    capsys.readouterr()
    assert main([*witness, "--log-dir", str(fork_static)]) == 1
    assert "ConsistencyProofInvalid" in capsys.readouterr().err
    # A rollback: the published log of size 2 from before.
    old_static = tmp_path / "old-static"
    shutil.copytree(static, old_static)
    (old_static / "checkpoint").write_bytes(cosigned.note.to_bytes())
    assert main([*witness, "--log-dir", str(old_static)]) == 1
    assert "ProofRangeError" in capsys.readouterr().err
    assert load_state(wstate)[ORIGIN].size == 4  # nothing was rolled back


LOG = NoteSigner.from_seed(ORIGIN, hashlib.sha256(b"log").digest())
EVIL = NoteSigner.from_seed(ORIGIN, hashlib.sha256(b"evil").digest())
WITNESS = NoteSigner.from_seed("w.example/http", bytes(32), ALG_COSIGNATURE_V1)
LEAVES = [hash_leaf(b"%d" % i) for i in range(40)]
READER = memory_reader(LEAVES)


def _note(size: int, signer: NoteSigner = LOG, origin: str = ORIGIN) -> bytes:
    return sign_checkpoint(Checkpoint(origin, size, root_hash(size, READER)), signer)


def _post(http: httpx.Client, old: int, proof: list[bytes], note: bytes) -> httpx.Response:
    body = encode_add_checkpoint(AddCheckpoint(old, tuple(proof), note))
    return http.post("/add-checkpoint", content=body)


def test_add_checkpoint_endpoint(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    save_state(state, {ORIGIN: WitnessedLog(LOG.verifier)})
    app = create_witness_app(state, WITNESS, lambda: 1_800_000_000)
    with BackgroundServer(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        ok = _post(http, 0, [], _note(10))
        assert ok.status_code == 200, ok.text
        note = _note(10).decode() + ok.text
        policy = WitnessPolicy((WITNESS.verifier,), 1)
        assert verify_checkpoint(note.encode(), LOG.verifier, policy).checkpoint.size == 10

        stale = _post(http, 0, [], _note(20))
        assert stale.status_code == 409
        assert stale.text == "10\n"
        assert stale.headers["content-type"] == "text/x.tlog.size"
        assert _post(http, 10, [], _note(20, origin="other.example")).status_code == 404
        assert (
            _post(http, 10, consistency_proof(10, 20, READER), _note(20, EVIL)).status_code == 403
        )
        assert _post(http, 30, [], _note(20)).status_code == 400
        wrong_proof = consistency_proof(11, 20, READER)
        assert _post(http, 10, wrong_proof, _note(20)).status_code == 422
        forked = sign_checkpoint(Checkpoint(ORIGIN, 10, hash_leaf(b"fork")), LOG)
        assert _post(http, 10, [], forked).status_code == 422
        assert http.post("/add-checkpoint", content=b"garbage").status_code == 400
        assert http.post("/add-checkpoint", content=b"x" * 200_000).status_code == 413
        assert load_state(state)[ORIGIN].size == 10  # none of the refusals moved it

        good = _post(http, 10, consistency_proof(10, 20, READER), _note(20))
        assert good.status_code == 200
        assert load_state(state)[ORIGIN].size == 20


def test_the_log_key_round_trips_through_the_key_file(tmp_path: Path) -> None:
    import os

    from report_service.keys import generate_key_material, material_from_json, material_to_json
    from tests.report_service.transparency.log_helpers import with_log_key

    plain = generate_key_material(os.urandom, 1)
    assert "log" not in material_to_json(plain)  # older key files stay as they were
    assert material_from_json(material_to_json(plain)).log is None
    keyed = with_log_key(plain)
    again = material_from_json(material_to_json(keyed))
    assert again.log == keyed.log
    assert keyed.log is not None
    assert keyed.log.seed in keyed.secrets()
    assert "seed" not in repr(keyed.log)
