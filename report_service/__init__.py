"""The report service run by trust & safety teams: relay stamping, verified report intake,
encrypted evidence, hash-bank matching, moderator review and a hash-chained audit log."""
