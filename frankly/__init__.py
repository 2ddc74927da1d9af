"""Frankly: verifiable abuse reporting for end-to-end-encrypted messengers.

This package holds only the ``frankly`` command-line shell and the version; the work is
done by :mod:`hashes`, :mod:`client_scan` and :mod:`report_service`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
