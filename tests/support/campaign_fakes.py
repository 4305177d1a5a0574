"""In-memory campaign ports, for the unit-level state machine. The
PostgreSQL ones are tested against the real database in tests/integration."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from uuid import UUID

from application.campaigns.ports import Appended, Claim, ListedRecipient
from application.contacts.ports import Audience


class InMemoryRecipientList:
    def __init__(self) -> None:
        self.rows: dict[UUID, list[ListedRecipient]] = {}

    @contextmanager
    def editing(self, campaign_id: UUID) -> Iterator[InMemoryRecipientList._Editor]:
        rows = self.rows.setdefault(campaign_id, [])
        editor = self._Editor(rows)
        yield editor
        rows.extend(editor.added)  # kept only when the edit ends well

    class _Editor:
        def __init__(self, rows: list[ListedRecipient]) -> None:
            self._rows = rows
            self.added: list[ListedRecipient] = []

        def append(self, recipients: Sequence[tuple[str, Mapping[str, object]]]) -> Appended:
            known = {r.phone for r in [*self._rows, *self.added]}
            last = max((r.seq for r in [*self._rows, *self.added]), default=0)
            added = 0
            for offset, (phone, variables) in enumerate(recipients, start=1):
                if phone in known:
                    continue
                known.add(phone)
                self.added.append(ListedRecipient(last + offset, phone, variables))
                added += 1
            return Appended(added, len(recipients) - added)

        def append_audience(self, account_id: str, audience: Audience) -> Appended:
            raise NotImplementedError("contacts are tested on the real database")

        def summary(self) -> tuple[int, int]:
            rows = [*self._rows, *self.added]
            return len(rows), max((r.seq for r in rows), default=0)

    def page(self, campaign_id: UUID, after_seq: int, up_to_seq: int,
             limit: int) -> list[ListedRecipient]:
        rows = sorted(self.rows.get(campaign_id, []), key=lambda r: r.seq)
        return [r for r in rows if after_seq < r.seq <= up_to_seq][:limit]

    def seqs(self, campaign_id: UUID, after_seq: int, up_to_seq: int, limit: int) -> list[int]:
        return [r.seq for r in self.page(campaign_id, after_seq, up_to_seq, limit)]


class InMemoryRuns:
    def __init__(self) -> None:
        self.due: dict[UUID, tuple[datetime, str | None, int]] = {}
        self._claims = 0

    def schedule(self, campaign_id: UUID, account_id: str, due_at: datetime) -> None:
        swept = self.due.get(campaign_id, (due_at, None, 0))[2]
        self.due[campaign_id] = (due_at, None, swept)

    def claim(self, owner: str, limit: int, lease_s: float) -> list[Claim]:
        claims = []
        for campaign_id, (due_at, token, swept) in list(self.due.items())[:limit]:
            if token is not None:
                continue
            self._claims += 1
            new_token = f"{owner}/{self._claims}"
            self.due[campaign_id] = (due_at, new_token, swept)
            claims.append(Claim(campaign_id, new_token, swept))
        return claims

    def release(self, claim: Claim, due_at: datetime | None = None) -> None:
        entry = self.due.get(claim.campaign_id)
        if entry and entry[1] == claim.token:
            self.due[claim.campaign_id] = (due_at or entry[0], None, entry[2])

    def remove(self, claim: Claim) -> None:
        entry = self.due.get(claim.campaign_id)
        if entry and entry[1] == claim.token:
            del self.due[claim.campaign_id]

    def swept(self, claim: Claim, seq: int) -> None:
        entry = self.due[claim.campaign_id]
        self.due[claim.campaign_id] = (entry[0], entry[1], seq)


class InMemoryTrust:
    def __init__(self) -> None:
        self.trusted: set[str] = set()

    def is_trusted(self, account_id: str) -> bool:
        return account_id in self.trusted

    def set_trusted(self, account_id: str, trusted: bool) -> None:
        (self.trusted.add if trusted else self.trusted.discard)(account_id)
