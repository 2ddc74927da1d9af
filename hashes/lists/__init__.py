"""Signed, versioned hash lists: the file format, curator signatures and trust decisions.

Curators :func:`build_list` and :func:`sign_list`; holders call :func:`load_list` with a
:class:`TrustPolicy` (and the :class:`TrustedState` they already have) and get a
:class:`HashList` whose arrays feed :class:`hashes.index.HammingIndex`. The byte layout is
in ``docs/lists.md``.
"""

from __future__ import annotations

from hashes.lists.format import (
    HashList,
    ListEntry,
    ListHeader,
    ListSignature,
    build_list,
    parse_list,
)
from hashes.lists.signing import add_signature, sign_list
from hashes.lists.trust import TrustedState, TrustPolicy, check_fresh, load_list, trusted_state

__all__ = [
    "HashList",
    "ListEntry",
    "ListHeader",
    "ListSignature",
    "TrustPolicy",
    "TrustedState",
    "add_signature",
    "build_list",
    "check_fresh",
    "load_list",
    "parse_list",
    "sign_list",
    "trusted_state",
]
