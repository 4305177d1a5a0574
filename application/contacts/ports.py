"""What the contact base needs from storage, as protocols."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from domain.contact import ContactFields
from domain.inbound import OptAction


@dataclass(frozen=True, slots=True)
class ContactPatch:
    """Fields to change; None leaves a field as it is, "" clears a text field."""

    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    reference: str | None = None
    custom_fields: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ContactQuery:
    search: str | None = None
    group_id: UUID | None = None
    tag_id: UUID | None = None
    page_size: int = 50
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[dict[str, Any]]
    cursor: str | None
    has_more: bool
    total: int


@dataclass(frozen=True, slots=True)
class ImportRow:
    """A valid row of an import, with where it came from."""

    line: int
    fields: ContactFields


@dataclass(frozen=True, slots=True)
class ChunkCounts:
    created: int
    updated: int
    skipped: int


@dataclass(frozen=True, slots=True)
class ImportProblem:
    line: int
    phone: str
    reason: str


@dataclass
class ImportTally:
    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    invalid: int = 0
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.skipped


@dataclass(frozen=True, slots=True)
class Audience:
    """Contacts to send to, beside (or instead of) explicit numbers."""

    group_ids: Sequence[UUID] = ()
    contact_ids: Sequence[UUID] = ()
    all_contacts: bool = False

    @property
    def empty(self) -> bool:
        return not (self.group_ids or self.contact_ids or self.all_contacts)


@dataclass(frozen=True, slots=True)
class AudienceMember:
    contact_id: UUID
    phone: str
    variables: Mapping[str, object]


class ContactStore(Protocol):
    def create(self, account_id: str, fields: ContactFields,
               group_id: UUID | None) -> dict[str, Any]:
        """The new contact; Conflict if its phone is taken, NotFound for the group."""
        ...

    def get(self, account_id: str, contact_id: UUID) -> dict[str, Any] | None: ...

    def update(self, account_id: str, contact_id: UUID,
               changes: Mapping[str, Any]) -> dict[str, Any] | None: ...

    def delete(self, account_id: str, contact_id: UUID) -> bool: ...

    def page(self, account_id: str, query: ContactQuery) -> Page: ...

    def add_tag(self, account_id: str, contact_id: UUID, tag_id: UUID) -> bool: ...

    def remove_tag(self, account_id: str, contact_id: UUID, tag_id: UUID) -> bool: ...


class LabelStore(Protocol):
    """Groups or tags: named sets of an account's contacts."""

    def create(self, account_id: str, name: str) -> dict[str, Any]: ...

    def list(self, account_id: str) -> list[dict[str, Any]]: ...

    def delete(self, account_id: str, label_id: UUID) -> bool: ...

    def exists(self, account_id: str, label_id: UUID) -> bool: ...


class ImportStore(Protocol):
    def begin(self, account_id: str, group_id: UUID | None, fmt: str) -> UUID: ...

    def write_chunk(self, import_id: UUID, account_id: str, group_id: UUID | None,
                    rows: Sequence[ImportRow], tally: ImportTally) -> ChunkCounts:
        """Upsert the rows and record the tally (after them) in one transaction."""
        ...

    def finish(self, import_id: UUID, tally: ImportTally, failure: str | None) -> None: ...

    def get(self, account_id: str, import_id: UUID) -> dict[str, Any] | None: ...


class AudienceSource(Protocol):
    def members(self, account_id: str, audience: Audience, limit: int) -> list[AudienceMember]:
        """Live contacts of the audience, one per phone, at most `limit` + 1
        (so the caller can tell it overflowed); NotFound for an unknown group
        or contact."""
        ...


class OptOutRegistry(Protocol):
    def record(self, account_id: str, phone: str, action: OptAction, *, source: str,
               keyword: str) -> None:
        """Append an opt-out or opt-in; the log is never rewritten."""
        ...

    def opted_out(self, account_id: str) -> frozenset[str]:
        """The account's opted-out numbers (E.164), as of now."""
        ...
