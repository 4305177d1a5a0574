"""Opaque random tokens (refresh, password reset) and the hashes we keep."""

from __future__ import annotations

import hashlib
import secrets

# 256 random bits: guessing is hopeless, so a fast hash at rest suffices and
# a leaked table of hashes gives no usable token.
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 128


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
