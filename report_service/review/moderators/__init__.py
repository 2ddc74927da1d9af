"""Moderator accounts: roles, authentication, and the token lifecycle of moderators and users."""
