"""NCMEC CyberTipline reports: preparation, approval, submission and hand export.

Modules: :mod:`.model` (the report as frozen values), :mod:`.xml` (request builder and
response parser, every document validated against ``schema/cybertipline.xsd``),
:mod:`.rules` (which decisions prepare a report), :mod:`.models` and :mod:`.store` (the
persisted state machine), :mod:`.content` (the report rebuilt from encrypted evidence),
:mod:`.client` (the HTTP client), :mod:`.flow` (the submitter), :mod:`.service` (prepare,
list, show, approve), :mod:`.api`, :mod:`.cli`, :mod:`.export`, :mod:`.config` (the
settings) and :mod:`.wiring` (the hooks other packages provide). See docs/escalation.md.
"""
