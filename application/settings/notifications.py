"""Which e-mails an account wants about its traffic and money.

These are preferences: whoever sends a notification (the low-balance check,
webhook failures, campaign completion) reads them first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any, Protocol

from application.errors import ValidationFailed

MAX_RECIPIENTS = 5
MAX_EMAIL_LENGTH = 254
# Deliberately loose: a mail server decides what it accepts; this only
# catches values that cannot be an address at all.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$")


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    low_balance_email: bool = True
    delivery_failure_email: bool = False
    webhook_failure_email: bool = True
    campaign_completed_email: bool = True
    weekly_usage_email: bool = False
    # Extra addresses; empty means the account's owner only.
    recipients: tuple[str, ...] = ()


FIELD_NAMES = frozenset(f.name for f in fields(NotificationSettings))


class NotificationStore(Protocol):
    def get(self, account_id: str) -> NotificationSettings | None: ...

    def put(self, account_id: str, settings: NotificationSettings) -> None: ...


class NotificationService:
    def __init__(self, store: NotificationStore) -> None:
        self._store = store

    def get(self, account_id: str) -> NotificationSettings:
        """The account's settings; the defaults until it changes one."""
        return self._store.get(account_id) or NotificationSettings()

    def update(self, account_id: str, changes: dict[str, Any]) -> NotificationSettings:
        unknown = set(changes) - FIELD_NAMES
        assert not unknown, f"the HTTP layer forbids unknown fields: {unknown}"
        if "recipients" in changes:
            changes = {**changes, "recipients": _checked_recipients(changes["recipients"])}
        updated = replace(self.get(account_id), **changes)
        self._store.put(account_id, updated)
        return updated


def _checked_recipients(recipients: Any) -> tuple[str, ...]:
    addresses = tuple(dict.fromkeys(str(r).strip().lower() for r in recipients))
    if len(addresses) > MAX_RECIPIENTS:
        raise ValidationFailed(f"At most {MAX_RECIPIENTS} notification recipients")
    for address in addresses:
        if len(address) > MAX_EMAIL_LENGTH or not _EMAIL.match(address):
            raise ValidationFailed("Not an e-mail address", recipient=address)
    return addresses
