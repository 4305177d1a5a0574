"""Keys that hold only some permissions, made as the key service makes them."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.bootstrap.container import Container


def narrow_key(container: Container, account_id: str, permissions: Sequence[str]) -> dict[str, str]:
    """Headers of a new live key of the account holding only `permissions`."""
    created = container.accounts.keys.create_key(
        account_id, sandbox=False, name="narrow", permissions=tuple(permissions),
        check_count=lambda active: None,
    )
    return {"X-API-Key": created.info.api_key, "X-API-Secret": created.api_secret}
