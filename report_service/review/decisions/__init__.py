"""Deciding items: the decision taxonomy, decide and reopen, and the requeue policy."""
