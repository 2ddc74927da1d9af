"""Moderator review: queues, claims, media, decisions and the hash-chained audit log."""
