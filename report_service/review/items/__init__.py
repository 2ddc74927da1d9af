"""The item view: verified facts, transcript, history, and the lead's flagged list."""
