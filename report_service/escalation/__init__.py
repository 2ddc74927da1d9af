"""Escalation out of Frankly: NCMEC reports, preservation holds, DSA statements, webhooks."""
