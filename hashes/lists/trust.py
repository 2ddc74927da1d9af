"""Deciding whether to trust a list file: signatures, k-of-n policy, rollback and chain.

:func:`load_list` is the only way a client or the service should turn list bytes into a
:class:`~hashes.lists.format.HashList` it matches against. It checks, in this order, and
raises the first failure:

1. the file parses (:class:`ListFormatError`, :class:`ListTruncated`);
2. the body hashes to the digest recorded in the trailer (:class:`ListDigestMismatch`);
3. there is at least one signature (:class:`SignatureMissing`);
4. every signature verifies over the digest with the key it names, trusted or not
   (:class:`SignatureInvalid`): a broken signature means the file was tampered with;
5. at least ``policy.threshold`` distinct trusted curator keys signed it
   (:class:`UnknownSigner` when no trusted key did but others did,
   :class:`NotEnoughSignatures` when some but too few trusted keys did);
   signatures by keys the policy does not name are otherwise ignored;
6. against the holder's :class:`TrustedState`, if any:

   - another ``list_id`` is refused (:class:`ChainBroken`): it is not the list held;
   - a lower version is refused (:class:`ListRollback`);
   - the same version must be byte-for-byte the same list (same digest); a different list
     under a version already trusted is a fork (:class:`ChainBroken`);
   - the next version (trusted + 1) must name the trusted digest as ``previous_digest``
     (:class:`ChainBroken`);
   - a jump of more than one version is accepted on the signatures alone, because the
     holder never saw the versions in between and cannot check their digests; it must
     still carry a ``previous_digest`` (a list that claims to start a new chain cannot
     replace a trusted one, :class:`ChainBroken`).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from hashes.errors import (
    ChainBroken,
    ListDigestMismatch,
    ListExpired,
    ListExpiryMissing,
    ListRollback,
    NotEnoughSignatures,
    SignatureMissing,
    UnknownSigner,
)
from hashes.lists.format import DIGEST_SIZE, PUBLIC_KEY_SIZE, HashList, parse_list
from hashes.lists.signing import verify_signature

__all__ = ["TrustPolicy", "TrustedState", "check_fresh", "load_list", "trusted_state"]


@dataclass(frozen=True)
class TrustPolicy:
    """Which curator keys are trusted and how many of them must sign (k of n).

    ``curator_keys`` maps a key id (a name for humans and errors) to a raw 32-byte Ed25519
    public key.

    Raises:
        ValueError: (on construction) no keys, a key that is not 32 bytes, the same key
            under two ids, or a threshold outside ``1..len(curator_keys)``.
    """

    curator_keys: Mapping[str, bytes]
    threshold: int = 1
    _by_key: dict[bytes, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = dict(self.curator_keys)
        if not keys:
            raise ValueError("a trust policy needs at least one curator key")
        for key_id, key in keys.items():
            if not isinstance(key, bytes) or len(key) != PUBLIC_KEY_SIZE:
                raise ValueError(f"curator key {key_id!r} is not a 32-byte Ed25519 public key")
        by_key = {key: key_id for key_id, key in keys.items()}
        if len(by_key) != len(keys):
            raise ValueError("the same curator key appears under two ids")
        if isinstance(self.threshold, bool) or not 1 <= self.threshold <= len(keys):
            raise ValueError(f"the threshold must lie in 1..{len(keys)}")
        object.__setattr__(self, "curator_keys", keys)
        object.__setattr__(self, "_by_key", by_key)

    def key_id(self, public_key: bytes) -> str | None:
        """The id of a trusted key, or ``None`` if the policy does not name it."""
        return self._by_key.get(public_key)


@dataclass(frozen=True, slots=True)
class TrustedState:
    """The list a holder already trusts: enough to refuse rollbacks and forks.

    Raises:
        ValueError: (on construction) a digest that is not 32 bytes or a version below 1.
    """

    list_id: str
    version: int
    digest: bytes

    def __post_init__(self) -> None:
        if len(self.digest) != DIGEST_SIZE:
            raise ValueError("a trusted digest has 32 bytes")
        if self.version < 1:
            raise ValueError("a trusted version is at least 1")


def trusted_state(hash_list: HashList) -> TrustedState:
    """The state to remember after accepting ``hash_list``."""
    return TrustedState(
        list_id=hash_list.header.list_id,
        version=hash_list.header.version,
        digest=hash_list.digest,
    )


def load_list(data: bytes, policy: TrustPolicy, trusted: TrustedState | None = None) -> HashList:
    """Parse a list file and accept it only if ``policy`` and ``trusted`` allow it.

    See the module docstring for the order of the checks and the rule for version jumps.
    The returned list's arrays are read-only views of ``data``.

    Raises:
        ListFormatError: the file is malformed (``ListTruncated`` when it ends early).
        ListDigestMismatch: the body does not match the digest the signatures cover.
        SignatureMissing: no signature at all.
        SignatureInvalid: a signature does not verify.
        UnknownSigner: signed only by keys the policy does not name.
        NotEnoughSignatures: fewer than ``policy.threshold`` trusted curators signed.
        ListRollback: the version is lower than the trusted one.
        ChainBroken: another list id, a fork at the trusted version, a wrong
            ``previous_digest`` for the next version, or a new chain replacing a trusted one.
    """
    hash_list, stored_digest = parse_list(data)
    if not hmac.compare_digest(stored_digest, hash_list.digest):
        raise ListDigestMismatch("the list content does not match the digest it was signed over")
    _check_signatures(hash_list, policy)
    if trusted is not None:
        check_succession(hash_list, trusted)
    return hash_list


def _check_signatures(hash_list: HashList, policy: TrustPolicy) -> None:
    if not hash_list.signatures:
        raise SignatureMissing("the list carries no signature")
    signers: set[str] = set()
    for signature in hash_list.signatures:
        verify_signature(signature, hash_list.digest)
        key_id = policy.key_id(signature.public_key)
        if key_id is not None:
            signers.add(key_id)
    if not signers:
        raise UnknownSigner("the list is signed only by keys the trust policy does not name")
    if len(signers) < policy.threshold:
        raise NotEnoughSignatures(
            f"{len(signers)} trusted curator signature(s), the policy needs {policy.threshold}"
        )


def check_succession(hash_list: HashList, trusted: TrustedState) -> None:
    """Check that ``hash_list`` may replace the trusted list (rules in the module docstring).

    Raises:
        ListRollback: the version is lower than the trusted one.
        ChainBroken: another list, a fork at the same version, a wrong previous_digest for
            the next version, or no previous_digest at all.
    """
    header = hash_list.header
    if header.list_id != trusted.list_id:
        raise ChainBroken(
            f"this is list {header.list_id!r}, the trusted one is {trusted.list_id!r}"
        )
    if header.version < trusted.version:
        raise ListRollback(
            f"version {header.version} is older than the trusted version {trusted.version}"
        )
    if header.version == trusted.version:
        if not hmac.compare_digest(hash_list.digest, trusted.digest):
            raise ChainBroken(f"a different list under the trusted version {trusted.version}")
        return
    if header.previous_digest is None:
        raise ChainBroken("the list starts a new chain but a newer version of it is trusted")
    if header.version == trusted.version + 1 and not hmac.compare_digest(
        header.previous_digest, trusted.digest
    ):
        raise ChainBroken(
            f"version {header.version} does not chain to the trusted version {trusted.version}"
        )


def check_fresh(hash_list: HashList, now_ms: int, *, require_expiry: bool = False) -> None:
    """Refuse a list whose signed expiry has passed at ``now_ms`` (the holder's clock).

    A list without an expiry (every list signed before the field existed) is accepted
    unless ``require_expiry``; the expiry is part of the signed body, so nobody but the
    curators can move it.

    Raises:
        ListExpired: ``expires_at_ms <= now_ms``.
        ListExpiryMissing: no expiry and ``require_expiry``.
    """
    expires = hash_list.header.expires_at_ms
    if expires is None:
        if require_expiry:
            raise ListExpiryMissing(
                f"list {hash_list.header.list_id!r} version {hash_list.header.version} "
                "carries no expiry and this holder accepts only lists that expire"
            )
        return
    if expires <= now_ms:
        raise ListExpired(
            f"list {hash_list.header.list_id!r} version {hash_list.header.version} "
            f"expired at {expires} ms (now {now_ms} ms)"
        )
