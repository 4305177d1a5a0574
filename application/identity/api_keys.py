"""Managing API keys: create (the secret is returned once), list, revoke."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.errors import NotFound, ValidationFailed
from domain.api_keys import (
    KEY_MODES,
    MAX_KEY_NAME_LENGTH,
    PermissionNotHeld,
    check_key_count,
    checked_permissions,
)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as listed: everything but its secret, which is never kept."""

    id: UUID
    name: str
    api_key: str
    sandbox: bool
    permissions: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CreatedKey:
    info: KeyInfo
    api_secret: str  # shown to the caller this once, stored only as a hash


class ApiKeyStore(Protocol):
    def create_key(
        self, account_id: str, *, sandbox: bool, name: str, permissions: tuple[str, ...],
        check_count: Callable[[int], None],
    ) -> CreatedKey:
        """Inserts a key after calling `check_count` with the account's number
        of active keys, in one transaction that serialises the account's
        creations, so that two concurrent requests cannot both pass it."""
        ...

    def active_keys(self, account_id: str) -> list[KeyInfo]: ...

    def revoke_key(self, account_id: str, key_id: UUID) -> bool:
        """True if an active key of this account was revoked."""
        ...


@dataclass(frozen=True, slots=True)
class CreateKey:
    account_id: str
    name: str
    permissions: tuple[str, ...]
    mode: str  # live or test
    # What the creating credential holds: a key cannot exceed its creator,
    # and a test (sandbox) credential cannot create live keys.
    creator_permissions: frozenset[str]
    creator_sandbox: bool


class ApiKeyService:
    def __init__(self, store: ApiKeyStore) -> None:
        self._store = store

    def create(self, command: CreateKey) -> CreatedKey:
        name = command.name.strip()
        if not 1 <= len(name) <= MAX_KEY_NAME_LENGTH:
            raise ValidationFailed(
                f"name is 1 to {MAX_KEY_NAME_LENGTH} characters", field="name"
            )
        if command.mode not in KEY_MODES:
            raise ValidationFailed("mode is live or test", field="mode")
        permissions = checked_permissions(command.permissions, command.creator_permissions)
        sandbox = command.mode == "test"
        if command.creator_sandbox and not sandbox:
            raise PermissionNotHeld("A test key can only create test keys", mode=command.mode)
        return self._store.create_key(
            command.account_id, sandbox=sandbox, name=name, permissions=permissions,
            check_count=check_key_count,
        )

    def list(self, account_id: str) -> list[KeyInfo]:
        return self._store.active_keys(account_id)

    def revoke(self, account_id: str, key_id: UUID) -> None:
        if not self._store.revoke_key(account_id, key_id):
            raise NotFound("No active API key with this id", id=str(key_id))
