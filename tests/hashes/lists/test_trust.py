"""load_list: signatures, the k-of-n policy, tampering, rollback and the digest chain."""

from __future__ import annotations

import nacl.signing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashes.errors import (
    ChainBroken,
    HashListError,
    ListDigestMismatch,
    ListFormatError,
    ListRollback,
    NotEnoughSignatures,
    SignatureInvalid,
    SignatureMissing,
    UnknownSigner,
)
from hashes.lists import (
    HashList,
    TrustedState,
    TrustPolicy,
    add_signature,
    load_list,
    parse_list,
    sign_list,
    trusted_state,
)
from hashes.lists.format import encode_body

from .list_helpers import curator_key, make_list

K0, K1, K2, K3 = (curator_key(i) for i in range(4))


def _policy(*keys: nacl.signing.SigningKey, threshold: int = 1) -> TrustPolicy:
    return TrustPolicy(
        curator_keys={f"curator-{i}": bytes(k.verify_key) for i, k in enumerate(keys)},
        threshold=threshold,
    )


def _signed(hash_list: HashList, *keys: nacl.signing.SigningKey) -> bytes:
    data = hash_list.to_bytes()
    for key in keys:
        data = add_signature(data, key)
    return data


def test_valid_list_loads() -> None:
    hl = make_list()
    loaded = load_list(sign_list(hl, K0), _policy(K0))
    assert loaded.digest == hl.digest
    assert loaded.header == hl.header
    assert [s.public_key for s in loaded.signatures] == [bytes(K0.verify_key)]


def test_unsigned_list_is_refused() -> None:
    with pytest.raises(SignatureMissing):
        load_list(make_list().to_bytes(), _policy(K0))


def test_unknown_signer_is_refused() -> None:
    with pytest.raises(UnknownSigner):
        load_list(sign_list(make_list(), K1), _policy(K0))


def test_extra_unknown_signatures_are_ignored_when_enough_trusted_ones_sign() -> None:
    data = _signed(make_list(), K3, K0)
    assert load_list(data, _policy(K0)).header.list_id == "ncmec-test"


@pytest.mark.parametrize(
    ("signers", "threshold", "error"),
    [
        ((K0,), 2, NotEnoughSignatures),
        ((K0, K3), 2, NotEnoughSignatures),
        ((K0, K0), 2, NotEnoughSignatures),  # the same key twice counts once
        ((K0, K1), 2, None),
        ((K2, K1, K0), 3, None),
        ((K2, K1), 3, NotEnoughSignatures),
        ((K3,), 2, UnknownSigner),
    ],
)
def test_k_of_n(
    signers: tuple[nacl.signing.SigningKey, ...], threshold: int, error: type[Exception] | None
) -> None:
    data = _signed(make_list(), *signers)
    policy = _policy(K0, K1, K2, threshold=threshold)
    if error is None:
        load_list(data, policy)
    else:
        with pytest.raises(error):
            load_list(data, policy)


def test_signing_twice_with_one_key_keeps_one_signature() -> None:
    data = _signed(make_list(), K0, K0)
    parsed, _ = parse_list(data)
    assert len(parsed.signatures) == 1


def test_bad_signature_is_refused() -> None:
    data = bytearray(sign_list(make_list(), K0))
    data[-1] ^= 0x01  # last byte of the signature
    with pytest.raises(SignatureInvalid):
        load_list(bytes(data), _policy(K0))


def test_signature_from_another_list_is_refused() -> None:
    """A valid signature over a different digest, spliced in, does not verify."""
    other = parse_list(sign_list(make_list(seed=9), K0))[0].signatures[0]
    hl = make_list().with_signatures([other])
    with pytest.raises(SignatureInvalid):
        load_list(hl.to_bytes(), _policy(K0))


def test_altered_body_is_refused() -> None:
    hl = make_list(ids=False)
    data = bytearray(sign_list(hl, K0))
    body_len = len(encode_body(hl))
    data[body_len - 2 * len(hl) - 1] ^= 0x80  # the last byte of the last hash
    with pytest.raises(ListDigestMismatch):
        load_list(bytes(data), _policy(K0))
    with pytest.raises(ListDigestMismatch):
        add_signature(bytes(data), K1)


def test_altered_digest_is_refused() -> None:
    hl = make_list()
    data = bytearray(sign_list(hl, K0))
    body_len = len(encode_body(hl))
    data[body_len + 8] ^= 0x01  # first byte of the recorded digest
    with pytest.raises(ListDigestMismatch):
        load_list(bytes(data), _policy(K0))


@given(data=st.data())
def test_any_flipped_byte_is_refused(data: st.DataObject) -> None:
    signed = sign_list(make_list(n=4), K0)
    i = data.draw(st.integers(0, len(signed) - 1))
    bit = data.draw(st.integers(0, 7))
    tampered = bytearray(signed)
    tampered[i] ^= 1 << bit
    with pytest.raises(HashListError):
        load_list(bytes(tampered), _policy(K0))


def test_rollback_is_refused() -> None:
    v1 = make_list(version=1)
    v2 = make_list(version=2, previous_digest=v1.digest, seed=1)
    with pytest.raises(ListRollback):
        load_list(sign_list(v1, K0), _policy(K0), trusted_state(v2))


def test_next_version_must_chain() -> None:
    v1 = make_list(version=1)
    good = make_list(version=2, previous_digest=v1.digest, seed=1)
    bad = make_list(version=2, previous_digest=b"\x00" * 32, seed=1)
    trusted = trusted_state(v1)
    assert load_list(sign_list(good, K0), _policy(K0), trusted).header.version == 2
    with pytest.raises(ChainBroken):
        load_list(sign_list(bad, K0), _policy(K0), trusted)


def test_new_chain_cannot_replace_a_trusted_list() -> None:
    v1 = make_list(version=1)
    restart = make_list(version=5, previous_digest=None, seed=1)
    with pytest.raises(ChainBroken):
        load_list(sign_list(restart, K0), _policy(K0), trusted_state(v1))


def test_version_jump_is_accepted_on_signatures() -> None:
    v1 = make_list(version=1)
    v5 = make_list(version=5, previous_digest=b"\x44" * 32, seed=4)
    assert load_list(sign_list(v5, K0), _policy(K0), trusted_state(v1)).header.version == 5


def test_same_version_reload_and_fork() -> None:
    v1 = make_list(version=1)
    fork = make_list(version=1, seed=7)
    trusted = trusted_state(v1)
    assert load_list(sign_list(v1, K0), _policy(K0), trusted).digest == v1.digest
    with pytest.raises(ChainBroken):
        load_list(sign_list(fork, K0), _policy(K0), trusted)


def test_other_list_id_is_refused() -> None:
    v1 = make_list(version=1)
    other = make_list(version=2, previous_digest=v1.digest, list_id="other")
    with pytest.raises(ChainBroken):
        load_list(sign_list(other, K0), _policy(K0), trusted_state(v1))


def test_signature_checks_come_before_trust_state() -> None:
    """An unsigned rollback reports the missing signature, not the rollback."""
    v1 = make_list(version=1)
    v2 = make_list(version=2, previous_digest=v1.digest, seed=1)
    with pytest.raises(SignatureMissing):
        load_list(v1.to_bytes(), _policy(K0), trusted_state(v2))


@pytest.mark.parametrize(
    ("keys", "threshold"),
    [
        ({}, 1),
        ({"a": b"short"}, 1),
        ({"a": b"\x01" * 32}, 2),
        ({"a": b"\x01" * 32}, 0),
        ({"a": b"\x01" * 32, "b": b"\x01" * 32}, 1),
    ],
)
def test_bad_policies_are_refused(keys: dict[str, bytes], threshold: int) -> None:
    with pytest.raises(ValueError, match=r"key|threshold"):
        TrustPolicy(curator_keys=keys, threshold=threshold)


def test_bad_trusted_state_is_refused() -> None:
    with pytest.raises(ValueError, match="digest"):
        TrustedState(list_id="x", version=1, digest=b"short")
    with pytest.raises(ValueError, match="version"):
        TrustedState(list_id="x", version=0, digest=b"\x00" * 32)


def test_policy_names_keys() -> None:
    policy = _policy(K0, K1)
    assert policy.key_id(bytes(K1.verify_key)) == "curator-1"
    assert policy.key_id(bytes(K2.verify_key)) is None


def test_signature_count_is_capped() -> None:
    hl = make_list(n=2)
    signed = hl
    for i in range(64):
        signed = parse_list(sign_list(signed, curator_key(i)))[0]
    assert len(signed.signatures) == 64
    with pytest.raises(ListFormatError, match="64"):
        sign_list(signed, curator_key(64))
    data = bytearray(signed.to_bytes())
    body_len = len(encode_body(hl))
    data[body_len + 40 : body_len + 42] = (65).to_bytes(2, "big")
    with pytest.raises(ListFormatError, match="64"):
        load_list(bytes(data), _policy(K0))
