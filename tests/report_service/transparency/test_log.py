"""The service's transparency log on SQLite and PostgreSQL: appending (trusted curators,
successors only), tiles and checkpoints that verify with the pure core, HTTP routes over
real sockets, concurrent appenders, static publishing."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import nacl.signing
import pytest

from hashes.lists import TrustPolicy, parse_list
from hashes.transparency import (
    TileReader,
    TrustedCheckpoint,
    WitnessPolicy,
    check_update,
    inclusion_proof,
    leaf_for_list,
    parse_leaf,
    verify_checkpoint,
    verify_leaf,
)
from hashes.transparency.merkle import root_hash
from report_service.errors import LogNotConfigured, LogRejected, NotFound
from report_service.keys import KeyMaterial
from report_service.server import BackgroundServer
from report_service.transparency.service import TransparencyLog
from tests.report_service.conftest import FakeClock, Service, make_service
from tests.report_service.transparency.log_helpers import chain, signed_list, with_log_key

NO_WITNESSES = WitnessPolicy((), 0)


@pytest.fixture
def log_service(
    database_url: str, tmp_path: Path, keys: KeyMaterial, clock: FakeClock
) -> Iterator[Service]:
    yield from make_service(database_url, tmp_path, with_log_key(keys), clock)


def _log(svc: Service) -> TransparencyLog:
    log: TransparencyLog = svc.app.state.transparency_log
    return log


def _policy(keys: KeyMaterial) -> TrustPolicy:
    return TrustPolicy({"curator": keys.curator.public_key})


def test_append_checkpoint_tiles_and_proofs(log_service: Service) -> None:
    keys = log_service.keys
    assert keys.log is not None
    log = _log(log_service)
    with pytest.raises(LogNotConfigured):
        log.append(chain(keys.curator.signing_key, "a", 1)[0], _policy(keys))
    log.init()
    log.init()  # idempotent
    vkey = keys.log.signer.verifier
    empty = verify_checkpoint(log.checkpoint(), vkey, NO_WITNESSES)
    assert empty.checkpoint.size == 0
    trusted = check_update(None, empty, [])

    lists = chain(keys.curator.signing_key, "ncmec", 3) + chain(
        keys.curator.signing_key, "stopncii", 2
    )
    results = [log.append(data, _policy(keys)) for data in lists]
    assert [r.index for r in results] == [0, 1, 2, 3, 4]
    assert all(r.created for r in results)
    again = log.append(lists[1], _policy(keys))
    assert (again.index, again.created, again.size) == (1, False, 5)

    cp = verify_checkpoint(log.checkpoint(), vkey, NO_WITNESSES)
    assert cp.checkpoint.size == 5
    trusted = check_update(trusted, cp, log.consistency_proof(0, 5))
    for index, data in enumerate(lists):
        leaf = parse_leaf(log.entry(index))
        assert leaf.digest == parse_list(data)[0].digest
        verify_leaf(leaf, index, log.inclusion_proof(index, 5), cp.checkpoint)

    # 300 more versions: full tiles, a level-1 tile, proofs across them.
    more = chain(keys.curator.signing_key, "big", 300)
    log.append_many(more, _policy(keys))
    cp2 = verify_checkpoint(log.checkpoint(), vkey, NO_WITNESSES)
    assert cp2.checkpoint.size == 305
    check_update(trusted, cp2, log.consistency_proof(5, 305))
    leaf_hashes = [parse_leaf(log.entry(i)) for i in (0, 260, 304)]
    for i, leaf in zip((0, 260, 304), leaf_hashes, strict=True):
        verify_leaf(leaf, i, log.inclusion_proof(i, 305), cp2.checkpoint)
    # The tiles give the same root as the leaves themselves.
    reader = TileReader(305, log.fetch)
    assert root_hash(305, reader) == cp2.checkpoint.root_hash
    assert inclusion_proof(200, 305, reader) == log.inclusion_proof(200, 305)


def test_refusals(log_service: Service) -> None:
    keys = log_service.keys
    log = _log(log_service)
    log.init()
    curator = keys.curator.signing_key
    policy = _policy(keys)
    v1, v2, v3 = chain(curator, "ncmec", 3)
    log.append(v1, policy)
    stranger = nacl.signing.SigningKey.generate()
    with pytest.raises(LogRejected, match="cannot be logged"):
        log.append(chain(stranger, "other", 1)[0], policy)  # an untrusted curator
    with pytest.raises(LogRejected, match="does not follow"):
        log.append(v3, policy)  # skips version 2
    fork = signed_list(curator, "ncmec", 2, previous=b"\x01" * 32)
    with pytest.raises(LogRejected, match="does not chain"):
        log.append(fork, policy)
    log.append(v2, policy)
    other_v2 = signed_list(curator, "ncmec", 2, previous=parse_list(v1)[0].digest, n=9)
    with pytest.raises(LogRejected, match="another list"):
        log.append(other_v2, policy)
    with pytest.raises(LogRejected):
        log.append(b"not a list", policy)
    assert log.size() == 2
    with pytest.raises(NotFound):
        log.find("ncmec", 3)
    # A leaf for an unsigned list cannot even be built.
    unsigned = parse_list(v1)[0].with_signatures(())
    with pytest.raises(Exception, match="signed"):
        leaf_for_list(unsigned, 0)


def test_concurrent_appenders_get_distinct_indices(log_service: Service) -> None:
    keys = log_service.keys
    first = _log(log_service)
    first.init()
    policy = _policy(keys)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        log = TransparencyLog(
            log_service.app.state.session_factory,
            keys.log.signer if keys.log else None,
            log_service.clock,
        )
        try:
            for data in chain(keys.curator.signing_key, f"list-{n}", 6):
                log.append(data, policy)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert first.size() == 24
    cp = verify_checkpoint(first.checkpoint(), keys.log.signer.verifier, NO_WITNESSES)  # type: ignore[union-attr]
    seen = {
        (parse_leaf(first.entry(i)).list_id, parse_leaf(first.entry(i)).version) for i in range(24)
    }
    assert len(seen) == 24
    for i in range(24):
        verify_leaf(first.entry(i), i, first.inclusion_proof(i, 24), cp.checkpoint)


def test_http_routes_over_a_socket(log_service: Service) -> None:
    keys = log_service.keys
    assert keys.log is not None
    with BackgroundServer(log_service.app) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/log/checkpoint").status_code == 404
        log = _log(log_service)
        log.init()
        log.append_many(chain(keys.curator.signing_key, "big", 260), _policy(keys))
        r = http.get("/log/checkpoint")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/plain; charset=utf-8"
        cp = verify_checkpoint(r.content, keys.log.signer.verifier, NO_WITNESSES)
        full = http.get("/log/tile/0/000")
        assert full.status_code == 200
        assert len(full.content) == 8192
        assert "immutable" in full.headers["cache-control"]
        partial = http.get("/log/tile/0/001.p/4")
        assert len(partial.content) == 128
        assert "immutable" not in partial.headers["cache-control"]
        bundle = http.get("/log/tile/entries/001.p/4")
        assert bundle.status_code == 200

        def fetch(path: str) -> bytes:
            resp = http.get(f"/log/{path}")
            resp.raise_for_status()
            return resp.content

        reader = TileReader(260, fetch)
        leaf = log.entry(258)
        verify_leaf(leaf, 258, inclusion_proof(258, 260, reader), cp.checkpoint)
        for bad in ("/log/tile/0/x000/001", "/log/tile/0/1", "/log/tile/99/000"):
            resp = http.get(bad)
            assert resp.status_code == 404
            assert resp.json()["error"]["code"] == "not_found"
        for missing in ("/log/tile/0/005", "/log/tile/0/001", "/log/tile/entries/002"):
            resp = http.get(missing)
            assert resp.status_code == 404
            assert resp.json()["error"]["code"] == "not_found"


def test_publish_writes_a_static_log(log_service: Service, tmp_path: Path) -> None:
    keys = log_service.keys
    assert keys.log is not None
    log = _log(log_service)
    log.init()
    log.append_many(chain(keys.curator.signing_key, "big", 300), _policy(keys))
    out = tmp_path / "static"
    assert log.publish(out) > 0
    cp = verify_checkpoint(
        (out / "checkpoint").read_bytes(), keys.log.signer.verifier, NO_WITNESSES
    )
    reader = TileReader(300, lambda p: (out / p).read_bytes())
    assert root_hash(300, reader) == cp.checkpoint.root_hash
    assert (out / "tile/entries/000").stat().st_size > 0
    assert (out / "tile/entries/001.p/44").exists()
    assert (out / "tile/1/000.p/1").exists()
    assert TrustedCheckpoint(cp.checkpoint) is not None


def test_a_device_checks_list_updates_with_proofs_over_http(log_service: Service) -> None:
    from hashes.errors import (
        CheckpointRollback,
        ConsistencyProofInvalid,
        InclusionProofInvalid,
        ListNotLogged,
        TransparencyError,
    )
    from hashes.transparency import ListProof, verify_list_proof

    keys = log_service.keys
    assert keys.log is not None
    vkey = keys.log.signer.verifier
    log = _log(log_service)
    log.init()
    v1, v2, v3 = chain(keys.curator.signing_key, "ncmec", 3)
    log.append_many([v1, *chain(keys.curator.signing_key, "other", 40)], _policy(keys))
    with BackgroundServer(log_service.app) as url, httpx.Client(base_url=url, timeout=30) as http:
        first = ListProof.from_json(http.get("/log/proof/ncmec/1").content)
        trusted, leaf, _ = verify_list_proof(first, parse_list(v1)[0], vkey, NO_WITNESSES, None)
        assert leaf.version == 1
        assert trusted.checkpoint.size == 41

        log.append(v2, _policy(keys))
        r = http.get(f"/log/proof/ncmec/2?from_size={trusted.checkpoint.size}")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        second = ListProof.from_json(r.content)
        trusted2, _, _ = verify_list_proof(second, parse_list(v2)[0], vkey, NO_WITNESSES, trusted)
        assert trusted2.checkpoint.size == 42

        # Split view: a signed v3 that is not in the log, shown with v2's proof.
        with pytest.raises(ListNotLogged):
            verify_list_proof(second, parse_list(v3)[0], vkey, NO_WITNESSES, trusted)
        # The proof of another index.
        moved = dataclasses.replace(second, index=second.index - 1)
        with pytest.raises(InclusionProofInvalid):
            verify_list_proof(moved, parse_list(v2)[0], vkey, NO_WITNESSES, trusted)
        # A consistency proof from another size than the trusted one.
        with pytest.raises(ConsistencyProofInvalid):
            verify_list_proof(
                dataclasses.replace(second, consistency_from=3),
                parse_list(v2)[0],
                vkey,
                NO_WITNESSES,
                trusted,
            )
        # Rollback: the first proof again after the second was accepted.
        with pytest.raises(CheckpointRollback):
            verify_list_proof(first, parse_list(v1)[0], vkey, NO_WITNESSES, trusted2)
        # Tampered documents never crash.
        for bad in (b"{}", b"[", b'{"checkpoint": 1}', r.content[:-5], b"x" * 300_000):
            with pytest.raises(TransparencyError):
                ListProof.from_json(bad)
        assert http.get("/log/proof/ncmec/9").status_code == 404
        assert http.get("/log/proof/ncmec/2?from_size=999").status_code == 422
        assert http.get("/log/proof/ncmec/0").status_code == 422
        assert http.get(f"/log/proof/ncmec/{2**64}").status_code == 422


def test_the_log_asks_a_witness_over_http(log_service: Service, tmp_path: Path) -> None:
    import hashlib

    from hashes.errors import TooFewCosignatures
    from hashes.transparency import ALG_COSIGNATURE_V1, NoteSigner
    from hashes.transparency.witness import WitnessedLog
    from report_service.transparency.witness_client import httpx_post, request_cosignature
    from report_service.transparency.witness_http import create_witness_app
    from report_service.transparency.witness_state import load_state, save_state

    keys = log_service.keys
    assert keys.log is not None
    vkey = keys.log.signer.verifier
    witness = NoteSigner.from_seed("w.test/1", hashlib.sha256(b"w").digest(), ALG_COSIGNATURE_V1)
    policy = WitnessPolicy((witness.verifier,), 1)
    state = tmp_path / "witness.json"
    save_state(state, {vkey.name: WitnessedLog(vkey)})
    log = _log(log_service)
    log.init()
    v = chain(keys.curator.signing_key, "ncmec", 30)
    log.append_many(v[:10], _policy(keys))
    with pytest.raises(TooFewCosignatures):
        verify_checkpoint(log.checkpoint(), vkey, policy)
    app = create_witness_app(state, witness, lambda: 1_800_000_000)
    with BackgroundServer(app) as url:
        note = request_cosignature(log, url, [witness.verifier], httpx_post())
        first = verify_checkpoint(note, vkey, policy)
        assert first.checkpoint.size == 10
        assert verify_checkpoint(log.checkpoint(), vkey, policy) == first  # served cosigned
        log.append_many(v[10:], _policy(keys))
        # The log does not know the witness's size: a 409 tells it, the retry succeeds.
        second = verify_checkpoint(
            request_cosignature(log, url, [witness.verifier], httpx_post()), vkey, policy
        )
        assert second.checkpoint.size == 30
        assert load_state(state)[vkey.name].size == 30
        check_update(check_update(None, first, []), second, log.consistency_proof(10, 30))
        # A witness that has seen more than the log has: reported, never cosigned.
        save_state(state, {vkey.name: WitnessedLog(vkey, 31, b"\x00" * 32)})
        with pytest.raises(LogRejected, match="rolled back or forked"):
            request_cosignature(log, url, [witness.verifier], httpx_post())
        # Lines by a witness the log operator did not name are not attached.
        save_state(state, {vkey.name: WitnessedLog(vkey, 30, second.checkpoint.root_hash)})
        other = NoteSigner.from_seed("w.test/2", bytes(32), ALG_COSIGNATURE_V1)
        with pytest.raises(LogRejected, match="not a witness named here"):
            request_cosignature(log, url, [other.verifier], httpx_post(), old_size=30)


def test_a_witness_follows_the_live_log_over_http(
    log_service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from frankly.cli import main
    from hashes.transparency import parse_vkey

    keys = log_service.keys
    assert keys.log is not None
    log = _log(log_service)
    log.init()
    log.append_many(chain(keys.curator.signing_key, "big", 270), _policy(keys))
    wkey, wstate = tmp_path / "w.key", tmp_path / "w.state"
    assert main(["log", "witness", "keygen", "--name", "w.test/live", "--key", str(wkey)]) == 0
    witness_vkey = parse_vkey(capsys.readouterr().out.split()[-1])
    vkey = keys.log.signer.verifier.vkey
    assert main(["log", "witness", "follow", "--state", str(wstate), "--log-vkey", vkey]) == 0
    witness = ["log", "witness", "cosign", "--state", str(wstate), "--key", str(wkey)]
    with BackgroundServer(log_service.app) as url:
        capsys.readouterr()
        assert main([*witness, "--log-url", f"{url}/log"]) == 0
        assert capsys.readouterr().out.startswith("\u2014 w.test/live ")
        log.append_many(chain(keys.curator.signing_key, "more", 20), _policy(keys))
        assert main([*witness, "--log-url", f"{url}/log"]) == 0  # consistency 270 -> 290
        line = capsys.readouterr().out
        note = log.add_cosignatures(line.encode(), [witness_vkey])
        cp = verify_checkpoint(note, keys.log.signer.verifier, WitnessPolicy((witness_vkey,), 1))
        assert cp.checkpoint.size == 290
        assert main([*witness, "--log-url", f"{url}/nothing-here"]) == 2
        assert main([*witness]) == 2
