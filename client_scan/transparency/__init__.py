"""The device side of list transparency: update bundles, the device rule, log readers,
the device's trusted-state file, and the auditor (docs/transparency.md).

- :mod:`.bundle` the list update bundle format and its builder from a published log;
- :mod:`.rule` :func:`check_bundle`, the pure device rule, and :class:`LogPolicy`;
- :mod:`.fetch` readers of a published log: a directory, an HTTP base URL;
- :mod:`.store` :class:`TrustStore`, the trusted lists and checkpoint in one 0600 file;
- :mod:`.audit` the auditor and monitor behind ``frankly log verify|monitor``.
"""
