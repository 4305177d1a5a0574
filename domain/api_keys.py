"""The rules of API keys: which permissions exist, how many keys an account
may hold, and what one credential may grant to a key it creates."""

from __future__ import annotations

from collections.abc import Iterable

from domain.errors import DomainError

# The fixed list a key's permissions are chosen from. A route names the one it
# needs; a key without it is refused with FORBIDDEN.
PERMISSIONS: tuple[str, ...] = (
    "sms.send", "sms.read", "billing.read", "reports.read", "contacts.read",
    "contacts.write", "templates.read", "templates.write", "webhooks.write",
    "settings.write",
)
# Each active key is a standing credential that can leak; ten is plenty for
# one per server or environment, and bounds what a revocation sweep must cover.
MAX_ACTIVE_KEYS_PER_ACCOUNT = 10
MAX_KEY_NAME_LENGTH = 100
KEY_MODES = ("live", "test")  # test keys act on the sandbox wallet only


class UnknownPermission(DomainError):
    code = "VALIDATION_ERROR"


class TooManyKeys(DomainError):
    code = "CONFLICT"


class PermissionNotHeld(DomainError):
    """A credential may only hand on permissions it holds itself."""

    code = "FORBIDDEN"


def checked_permissions(requested: Iterable[str], granter: frozenset[str]) -> tuple[str, ...]:
    """The requested permissions in the canonical order, without duplicates.

    Raises UnknownPermission for a name outside PERMISSIONS, and
    PermissionNotHeld when the creating credential lacks one of them, so that a
    key can never mint a stronger key than itself.
    """
    wanted = set(requested)
    unknown = sorted(wanted.difference(PERMISSIONS))
    if unknown:
        raise UnknownPermission(
            f"Unknown permission {unknown[0]!r}", unknown=unknown, allowed=list(PERMISSIONS)
        )
    if not wanted:
        raise UnknownPermission("A key needs at least one permission", allowed=list(PERMISSIONS))
    missing = sorted(wanted.difference(granter))
    if missing:
        raise PermissionNotHeld(
            "A key cannot grant permissions its creator does not hold", missing=missing
        )
    return tuple(p for p in PERMISSIONS if p in wanted)


def check_key_count(active: int) -> None:
    """Refuses a new key when the account already holds the maximum."""
    if active >= MAX_ACTIVE_KEYS_PER_ACCOUNT:
        raise TooManyKeys(
            f"An account has at most {MAX_ACTIVE_KEYS_PER_ACCOUNT} active API keys;"
            " revoke one before creating another",
            limit=MAX_ACTIVE_KEYS_PER_ACCOUNT, active=active,
        )
