"""Escalation out of the service: what leaves Frankly after a decision (DSA statements of
reasons, notices and appeals; other helpers add NCMEC reports, holds and webhooks).

The review package never imports this one: the app passes hooks into review instead.
"""
