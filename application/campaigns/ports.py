"""What campaigns need from storage, as protocols: the recipient list, the
executor's work queue, and which accounts are trusted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.contacts.ports import Audience


@dataclass(frozen=True, slots=True)
class ListedRecipient:
    seq: int
    phone: str
    variables: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Appended:
    added: int
    duplicates: int


@dataclass(frozen=True, slots=True)
class Claim:
    campaign_id: UUID
    token: str
    swept_seq: int


class RecipientListEditor(Protocol):
    """A campaign's list, held exclusively until the edit ends; everything
    appended is kept only if the edit ends without an error."""

    def append(self, recipients: Sequence[tuple[str, Mapping[str, object]]]) -> Appended:
        """Numbers in E.164 with their variables; a number already listed is
        a duplicate."""
        ...

    def append_audience(self, account_id: str, audience: Audience) -> Appended:
        """The audience's live contacts as they are now, with their fields
        as variables; NotFound for a group or contact not the account's."""
        ...

    def summary(self) -> tuple[int, int]:
        """(recipients listed, highest seq)."""
        ...


class RecipientList(Protocol):
    def editing(self, campaign_id: UUID) -> AbstractContextManager[RecipientListEditor]: ...

    def page(self, campaign_id: UUID, after_seq: int, up_to_seq: int,
             limit: int) -> list[ListedRecipient]:
        """Recipients with after_seq < seq <= up_to_seq, by seq."""
        ...

    def seqs(self, campaign_id: UUID, after_seq: int, up_to_seq: int, limit: int) -> list[int]:
        ...


class CampaignRuns(Protocol):
    """Campaigns the executor has work for. A hint, not the truth: the
    campaign's own events decide what is done."""

    def schedule(self, campaign_id: UUID, account_id: str, due_at: datetime) -> None:
        """Due at `due_at`; any claim on it is dropped, so it is looked at again."""
        ...

    def claim(self, owner: str, limit: int, lease_s: float) -> list[Claim]: ...

    def release(self, claim: Claim, due_at: datetime | None = None) -> None:
        """Give back a claim, still due (at `due_at` if given)."""
        ...

    def remove(self, claim: Claim) -> None:
        """Done with it, unless it was scheduled again since it was claimed."""
        ...

    def swept(self, claim: Claim, seq: int) -> None: ...


class TrustedAccounts(Protocol):
    def is_trusted(self, account_id: str) -> bool: ...

    def set_trusted(self, account_id: str, trusted: bool) -> None: ...
