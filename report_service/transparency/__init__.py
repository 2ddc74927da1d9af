"""The service's transparency log of hash-list versions (issue 17, docs/transparency.md):
store (:mod:`.store`, :mod:`.models`), service (:mod:`.service`), HTTP routes
(:mod:`.router`), the ``frankly log`` commands (:mod:`.cli`) and a witness
(:mod:`.witness_state`, :mod:`.witness_http`). The formats and proofs are the pure core
:mod:`hashes.transparency`."""
