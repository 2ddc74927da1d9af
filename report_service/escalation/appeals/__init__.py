"""Notices to reporters and appeals by reported users (DSA Art. 16(5), 17, 20)."""
