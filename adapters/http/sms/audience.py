"""Reading seed 002's audience fields (groupId, groupIds, contactIds,
sendToAllContacts) off a request body."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from application.contacts.ports import Audience
from application.errors import NotFound


class HasAudience(Protocol):
    @property
    def groupId(self) -> str | None: ...  # noqa: N802 - seed 002's spelling

    @property
    def groupIds(self) -> Sequence[str] | None: ...  # noqa: N802

    @property
    def contactIds(self) -> Sequence[str] | None: ...  # noqa: N802

    @property
    def sendToAllContacts(self) -> bool: ...  # noqa: N802


def audience_of(data: HasAudience) -> Audience:
    groups = [*([data.groupId] if data.groupId else []), *(data.groupIds or [])]
    return Audience(
        group_ids=_ids(groups, "group"),
        contact_ids=_ids(data.contactIds or [], "contact"),
        all_contacts=data.sendToAllContacts,
    )


def _ids(values: Sequence[str], what: str) -> list[UUID]:
    """Ids in order, once each; one that is not a UUID names nothing (404)."""
    found: dict[UUID, None] = {}
    for value in values:
        try:
            found[UUID(value)] = None
        except ValueError:
            raise NotFound(f"No such {what}", **{f"{what}_ids": [value]}) from None
    return list(found)
