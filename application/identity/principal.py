"""Who a request acts for: what every use case is told about its caller."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for, once its credentials check out."""

    account_id: str
    key_id: uuid.UUID | None
    sandbox: bool
    permissions: frozenset[str]
    # Set when a signed-in user (not an API key) makes the request.
    user_id: uuid.UUID | None = None
    role: str | None = None  # owner, admin or member of the account
    # Platform operators run /v1/admin/*; only a user can be one, never a key.
    platform_admin: bool = False
