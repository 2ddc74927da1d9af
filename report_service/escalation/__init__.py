"""Escalation out of the service: reports to outside bodies (NCMEC, DSA), holds, webhooks."""
