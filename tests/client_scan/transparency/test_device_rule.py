"""The device rule through the public client API (Scanner.apply_update): accepted updates,
and each attack refused with its own typed error, the list in use and the trusted
checkpoint unchanged."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client_scan import errors as cerr
from client_scan.scanner import Scanner
from client_scan.transparency.bundle import (
    UpdateBundle,
    build_bundle,
    bundle_from_proof,
    parse_bundle,
)
from client_scan.transparency.fetch import directory_fetch
from client_scan.transparency.store import TrustStore
from hashes.lists import TrustPolicy, parse_list, sign_list
from hashes.transparency.leaf import leaf_for_list
from hashes.transparency.verify import TrustedCheckpoint
from tests.client_scan.transparency.published_log import (
    CURATOR,
    DAY_MS,
    OTHER_LOG,
    OUTSIDER,
    STRANGER,
    T0_MS,
    WITNESSES,
    PublishedLog,
    chain,
    log_policy,
    make_list,
)

NOW_S = (T0_MS + 5 * DAY_MS) // 1000
DAY_S = DAY_MS // 1000
CURATORS = TrustPolicy({"curator-a": bytes(CURATOR.verify_key)})


def scanner(
    store: TrustStore | None = None,
    *,
    now_s: float = NOW_S,
    threshold: int = 2,
    allow_no_expiry: bool = False,
    checkpoint: TrustedCheckpoint | None = None,
) -> Scanner:
    return Scanner(
        CURATORS,
        log_policy=log_policy(threshold, allow_no_expiry=allow_no_expiry),
        store=store,
        trusted_checkpoint=checkpoint,
        clock=lambda: now_s,
    )


@pytest.fixture
def log(tmp_path: Path) -> PublishedLog:
    return PublishedLog(tmp_path / "log")


def test_updates_are_accepted_with_proofs_and_the_checkpoint_persists(
    log: PublishedLog, tmp_path: Path
) -> None:
    v1, v2, v3 = chain(3)
    log.append_list(v1)
    log.publish(NOW_S - 4 * DAY_S)
    fetch = directory_fetch(log.root)
    store = TrustStore(tmp_path / "trust.json")
    device = scanner(store)
    assert device.trusted_checkpoint is None
    state = device.apply_update(build_bundle(v1, fetch, old_size=0).to_bytes())
    assert (state.list_id, state.version) == ("example", 1)
    assert device.trusted_checkpoint is not None
    assert device.trusted_checkpoint.checkpoint.size == 1
    assert stat.S_IMODE((tmp_path / "trust.json").stat().st_mode) == 0o600

    log.append_list(v2)
    log.append_list(v3)
    log.publish(NOW_S - 3 * DAY_S)
    restarted = scanner(TrustStore(tmp_path / "trust.json"))
    assert restarted.trusted_checkpoint == device.trusted_checkpoint
    assert restarted.trusted_states["example"].version == 1
    # v3 after v1: a version jump, proved consistent from size 1 to 3
    bundle = build_bundle(v3, fetch, old_size=1)
    assert build_bundle(v3, fetch, old_size=1, leaf_index=2) == bundle
    with pytest.raises(cerr.NotInLog):
        build_bundle(v3, fetch, old_size=1, leaf_index=3)
    assert bundle.consistency_proof
    assert bundle.leaf_index == 2
    assert restarted.apply_update(bundle).version == 3
    assert restarted.trusted_checkpoint is not None
    assert restarted.trusted_checkpoint.checkpoint.size == 3
    assert restarted.trusted_checkpoint.cosigned_at == NOW_S - 3 * DAY_S
    assert len(restarted.lists["example"]) == 6
    assert TrustStore(tmp_path / "trust.json").load().checkpoint == restarted.trusted_checkpoint


def test_the_store_narrows_an_open_file_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    TrustStore(path).save(TrustStore(path).load())
    path.chmod(0o644)
    TrustStore(path).load()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_bad_store_file_is_refused_not_reset(tmp_path: Path) -> None:
    path = tmp_path / "trust.json"
    path.write_text('{"format": "frankly-device-trust", "v": 1, "lists": [{"list_id": 1}]}')
    with pytest.raises(cerr.ClientScanError):
        scanner(TrustStore(path))


def _accepted(log: PublishedLog, *lists: bytes, cosigned_at: int = NOW_S - DAY_S) -> Scanner:
    """A device that accepted ``lists`` (already in ``log``) at the current log size."""
    log.publish(cosigned_at)
    device = scanner()
    old = 0
    for data in lists:
        device.apply_update(build_bundle(data, directory_fetch(log.root), old_size=old))
        assert device.trusted_checkpoint is not None
        old = device.trusted_checkpoint.checkpoint.size
    return device


def _refused(device: Scanner, bundle: UpdateBundle | bytes, error: type[Exception]) -> None:
    before = (dict(device.trusted_states), device.trusted_checkpoint, dict(device.lists))
    with pytest.raises(cerr.ListUpdateRejected) as info:
        device.apply_update(bundle)
    assert type(info.value) is error, info.value
    assert info.value.code == error.code
    after = (dict(device.trusted_states), device.trusted_checkpoint, dict(device.lists))
    assert after == before


def test_split_view_a_curator_signed_list_absent_from_the_log(log: PublishedLog) -> None:
    v1, v2 = chain(2)
    log.append_list(v1)
    device = _accepted(log, v1)
    fetch = directory_fetch(log.root)
    with pytest.raises(cerr.NotInLog):
        build_bundle(v2, fetch, old_size=1)  # the honest builder cannot prove it
    # ... and a bundle that carries v1's leaf and proof for v2 is refused by the device
    good = build_bundle(v1, fetch, old_size=1)
    forged = dataclasses.replace(good, list_bytes=v2)
    _refused(device, forged, cerr.LeafMismatch)
    # a bare list is never accepted in transparency mode
    with pytest.raises(cerr.LogProofRequired):
        device.load_list(v2)


def test_split_view_a_leaf_for_another_digest(log: PublishedLog) -> None:
    v1, v2 = chain(2)
    log.append_list(v1)
    logged_v2 = make_list(2, parse_list(v1)[0].digest, n=7)  # another v2 in the log
    log.append_list(logged_v2)
    device = _accepted(log, v1)
    good = build_bundle(logged_v2, directory_fetch(log.root), old_size=2)
    forged = dataclasses.replace(good, list_bytes=v2)  # the device is shown v2
    _refused(device, forged, cerr.LeafMismatch)


def test_a_tampered_inclusion_proof_is_not_in_the_log(log: PublishedLog) -> None:
    v1, v2 = chain(2)
    log.append_list(v1)
    device = _accepted(log, v1)
    log.append_list(v2)
    log.publish(NOW_S - DAY_S)
    good = build_bundle(v2, directory_fetch(log.root), old_size=1)
    bad_proof = (bytes(32), *good.inclusion_proof[1:])
    forged = dataclasses.replace(good, inclusion_proof=bad_proof)
    _refused(device, forged, cerr.NotInLog)


def test_fork_same_size_another_root(log: PublishedLog, tmp_path: Path) -> None:
    (v1,) = chain(1)
    other = make_list(1, list_id="other")
    log.append_list(v1)
    log.append_list(make_list(1, list_id="third"))
    device = _accepted(log, v1)  # trusts the tree of 2
    fork = PublishedLog(tmp_path / "fork")
    fork.append_list(v1)
    fork.append_list(other)  # the same size, another second leaf
    fork.publish(NOW_S)
    bundle = build_bundle(other, directory_fetch(fork.root), old_size=2)
    _refused(device, bundle, cerr.LogForked)


def test_inconsistent_larger_tree_is_refused(log: PublishedLog, tmp_path: Path) -> None:
    (v1,) = chain(1)
    log.append_list(v1)
    log.append_list(make_list(1, list_id="third"))
    device = _accepted(log, v1)
    fork = PublishedLog(tmp_path / "fork")
    fork.append_list(v1)
    fork.append_list(make_list(1, list_id="fourth"))
    other = make_list(1, list_id="other")
    fork.append_list(other)
    fork.publish(NOW_S)
    bundle = build_bundle(other, directory_fetch(fork.root), old_size=2)
    _refused(device, bundle, cerr.LogInconsistent)


def test_log_rollback(log: PublishedLog) -> None:
    other = make_list(1, list_id="other")
    v1, v2 = chain(2)
    log.append_list(other)
    log.publish(NOW_S - 3 * DAY_S)  # the tiles of the tree of 1 stay published
    log.append_list(v1)
    log.append_list(v2)
    device = _accepted(log, v2)  # trusts the tree of 3
    small = log.note(NOW_S, size=1)
    bundle = build_bundle(other, directory_fetch(log.root), old_size=0, checkpoint=small)
    bundle = dataclasses.replace(bundle, old_size=3)
    _refused(device, bundle, cerr.LogRolledBack)


def test_replayed_checkpoint(log: PublishedLog) -> None:
    other = make_list(1, list_id="other")
    (v1,) = chain(1)
    log.append_list(other)
    log.append_list(v1)
    old_note = log.note(NOW_S - 3 * DAY_S)
    device = _accepted(log, v1, cosigned_at=NOW_S - DAY_S)  # trusts size 2 cosigned later
    bundle = build_bundle(other, directory_fetch(log.root), old_size=2, checkpoint=old_note)
    _refused(device, bundle, cerr.CheckpointReplayed)


@pytest.mark.parametrize(
    ("witnesses", "error"),
    [
        ([STRANGER], cerr.WitnessNotTrusted),
        ([STRANGER, WITNESSES[0]], cerr.NotEnoughCosignatures),
        ([], cerr.NotEnoughCosignatures),
    ],
)
def test_witness_policy(log: PublishedLog, witnesses: list[object], error: type[Exception]) -> None:
    (v1,) = chain(1)
    log.append_list(v1)
    log.publish(NOW_S, witnesses=witnesses)
    bundle = build_bundle(v1, directory_fetch(log.root), old_size=0)
    _refused(scanner(), bundle, error)


def test_a_checkpoint_not_signed_by_the_log_key(tmp_path: Path) -> None:
    forged = PublishedLog(tmp_path / "forged", signer=OTHER_LOG)
    (v1,) = chain(1)
    forged.append_list(v1)
    forged.publish(NOW_S)
    _refused(
        scanner(),
        build_bundle(v1, directory_fetch(forged.root), old_size=0),
        cerr.CheckpointRefused,
    )


def test_expired_list_refused_and_said(log: PublishedLog) -> None:
    stale = make_list(1, expires_in_days=2)  # issued T0+1d, expired at T0+3d
    log.append_list(stale)
    log.publish((T0_MS + 2 * DAY_MS) // 1000)
    bundle = build_bundle(stale, directory_fetch(log.root), old_size=0)
    _refused(scanner(), bundle, cerr.ListExpired)
    assert scanner(now_s=(T0_MS + 2 * DAY_MS) / 1000).apply_update(bundle).version == 1


def test_a_list_without_expiry_follows_the_policy(log: PublishedLog) -> None:
    forever = make_list(1, expires_in_days=None)
    log.append_list(forever)
    log.publish(NOW_S)
    bundle = build_bundle(forever, directory_fetch(log.root), old_size=0)
    _refused(scanner(), bundle, cerr.ListExpiryMissing)
    assert scanner(allow_no_expiry=True).apply_update(bundle).version == 1


def test_leaf_for_an_unsigned_list(log: PublishedLog) -> None:
    rogue = make_list(1, keys=(OUTSIDER,))  # logged, but no trusted curator signed it
    log.append_list(rogue)
    log.publish(NOW_S)
    _refused(
        scanner(),
        build_bundle(rogue, directory_fetch(log.root), old_size=0),
        cerr.ListNotCuratorSigned,
    )


def test_a_leaf_that_does_not_name_the_curators(log: PublishedLog) -> None:
    (v1,) = chain(1)
    unsigned = parse_list(v1)[0].with_signatures(())
    by_outsider = parse_list(sign_list(unsigned, OUTSIDER))[0]
    log.append_entry(leaf_for_list(by_outsider, T0_MS, by_outsider.header.expires_at_ms).to_bytes())
    log.publish(NOW_S)
    _refused(
        scanner(),
        build_bundle(v1, directory_fetch(log.root), old_size=0),
        cerr.ListNotCuratorSigned,
    )


def test_bundle_from_another_base_size(log: PublishedLog) -> None:
    v1, v2 = chain(2)
    log.append_list(v1)
    device = _accepted(log, v1)
    log.append_list(v2)
    log.publish(NOW_S)
    with pytest.raises(cerr.BundleBaseMismatch) as info:
        device.apply_update(build_bundle(v2, directory_fetch(log.root), old_size=0))
    assert info.value.trusted_size == 1


def test_no_log_policy_keeps_todays_behaviour(log: PublishedLog) -> None:
    stale = make_list(1, expires_in_days=2)
    plain = Scanner(CURATORS, clock=lambda: NOW_S)
    with pytest.raises(cerr.ListExpired):
        plain.load_list(stale)
    assert plain.load_list(make_list(1, expires_in_days=None)).version == 1
    with pytest.raises(cerr.InvalidInput):
        plain.apply_update(b"")


# Properties ---------------------------------------------------------------------------

_hash = st.binary(min_size=32, max_size=32)


@given(
    list_bytes=st.binary(max_size=300),
    leaf_index=st.integers(0, 2**64 - 1),
    leaf=st.binary(max_size=300),
    inclusion=st.lists(_hash, max_size=64),
    note=st.binary(max_size=500),
    old_size=st.integers(0, 2**64 - 1),
    consistency=st.lists(_hash, max_size=128),
)
def test_bundle_round_trip(
    list_bytes: bytes,
    leaf_index: int,
    leaf: bytes,
    inclusion: list[bytes],
    note: bytes,
    old_size: int,
    consistency: list[bytes],
) -> None:
    bundle = UpdateBundle(
        list_bytes, leaf_index, leaf, tuple(inclusion), note, old_size, tuple(consistency)
    )
    data = bundle.to_bytes()
    assert parse_bundle(data) == bundle
    assert parse_bundle(data).to_bytes() == data
    with pytest.raises(cerr.UpdateBundleInvalid):
        parse_bundle(data[:-1] if data else b"x")
    with pytest.raises(cerr.UpdateBundleInvalid):
        parse_bundle(data + b"\x00")


@pytest.fixture(scope="module")
def second_update(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrustedCheckpoint, bytes]:
    """A device trusting the tree of 1 (v1), and the bundle that brings v2 at size 2."""
    log = PublishedLog(tmp_path_factory.mktemp("log"))
    v1, v2 = chain(2)
    log.append_list(v1)
    device = _accepted(log, v1, cosigned_at=NOW_S - 2 * DAY_S)
    log.append_list(v2)
    log.publish(NOW_S - DAY_S)
    bundle = build_bundle(v2, directory_fetch(log.root), old_size=1)
    assert device.trusted_checkpoint is not None
    assert len(bundle.consistency_proof) == 1
    return device.trusted_checkpoint, bundle.to_bytes()


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_tampered_byte_is_refused(
    second_update: tuple[TrustedCheckpoint, bytes], data: st.DataObject
) -> None:
    trusted, bundle = second_update
    assert scanner(checkpoint=trusted).apply_update(bundle).version == 2
    i = data.draw(st.integers(0, len(bundle) - 1), label="offset")
    flip = data.draw(st.integers(1, 255), label="xor")
    tampered = bundle[:i] + bytes([bundle[i] ^ flip]) + bundle[i + 1 :]
    device = scanner(checkpoint=trusted)
    with pytest.raises(cerr.ListUpdateRejected):
        device.apply_update(tampered)
    assert device.trusted_checkpoint == trusted
    assert not device.lists


def test_a_loaded_list_that_expires_is_kept_and_reported() -> None:
    now = [NOW_S]
    plain = Scanner(CURATORS, clock=lambda: now[0])
    data = make_list(1, expires_in_days=30)
    plain.load_list(data)
    assert plain.expired_lists() == {}
    now[0] += 60 * DAY_S
    expires = parse_list(data)[0].header.expires_at_ms
    assert plain.expired_lists() == {"example": expires}
    assert "example" in plain.lists  # still matched against: old protection beats none
    with pytest.raises(cerr.ListExpired):
        plain.load_list(data)  # but not accepted again


@dataclasses.dataclass(frozen=True)
class _ServedProof:
    """The shape of the log's proof document (ListProof on the service's side)."""

    checkpoint: bytes
    index: int
    leaf: bytes
    inclusion_proof: tuple[bytes, ...]
    consistency_from: int | None
    consistency_proof: tuple[bytes, ...]


def test_a_bundle_from_the_logs_proof_document(log: PublishedLog) -> None:
    (v1,) = chain(1)
    log.append_list(v1)
    log.publish(NOW_S)
    built = build_bundle(v1, directory_fetch(log.root), old_size=0)
    served = _ServedProof(built.checkpoint, 0, built.leaf, built.inclusion_proof, None, ())
    assert bundle_from_proof(v1, served) == built
    assert scanner().apply_update(bundle_from_proof(v1, served)).version == 1
