"""Escalation out of the service: webhooks (and, on other branches, NCMEC, preservation, DSA)."""
