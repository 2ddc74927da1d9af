"""Bearer tokens: random, shown once, stored only as their SHA-256."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

from report_service.errors import InvalidRequest

TOKEN_BYTES = 32
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")


def new_token() -> str:
    """A fresh bearer token (43 URL-safe characters, 256 bits)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(TOKEN_BYTES)).rstrip(b"=").decode()


def hash_token(token: str) -> bytes:
    """The stored form of a token: SHA-256 of its UTF-8 bytes.

    A fast hash is enough: the token has 256 bits of entropy, so there is nothing to
    brute-force, unlike a password.
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def check_user_name(name: str) -> str:
    """Return ``name`` if it is a valid user id.

    Raises:
        InvalidRequest: 1 to 64 characters of letters, digits, ``_ . @ -``, starting with a
            letter or digit.
    """
    if not _NAME.fullmatch(name):
        raise InvalidRequest(
            "a user name is 1 to 64 letters, digits, '_', '.', '@' or '-'", code="invalid_name"
        )
    return name
