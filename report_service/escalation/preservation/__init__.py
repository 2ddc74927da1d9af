"""Preservation holds on report evidence (issue 14, "Preservation"; REPORT Act, 2024).

The NCMEC flow calls :func:`report_service.escalation.preservation.service.place_preservation_hold`
in the transaction that records a CyberTipline submission; operators use ``frankly evidence
hold|release|holds`` (:mod:`.cli`). While a hold is active, ``frankly evidence purge``
skips the report (verdict ``preservation_hold``) and ``frankly evidence destroy`` refuses
it (``evidence_held``). This package stays import-light (the command line loads it for
every ``frankly`` run): import :mod:`.service` for the functions.
"""
