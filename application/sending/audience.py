"""Sending to contacts: groups, chosen contacts or every contact, alone or
beside explicit numbers, as one list without repeats.

Explicit numbers come first, in their order, then contacts in the order they
were created. A number is kept the first time it appears (compared in E.164,
so 07700 900123 and +447700900123 are one); later ones are counted as
duplicates. A contact's fields become its template variables, also for an
explicit number that is a contact (the request's own variables win). Opt-outs are
not decided here: the send refuses opted-out numbers, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from application.contacts.ports import Audience, AudienceSource
from application.errors import ValidationFailed
from application.ports import AccountDirectory
from application.sending.send import MAX_BULK_RECIPIENTS, BulkRecipient
from domain.contact import normalise_phone
from domain.errors import DomainError


@dataclass(frozen=True, slots=True)
class Recipients:
    recipients: list[BulkRecipient]
    duplicates_removed: int


class AudienceResolver:
    def __init__(self, accounts: AccountDirectory, source: AudienceSource) -> None:
        self._accounts = accounts
        self._source = source

    def resolve(
        self, account_id: str, explicit: Sequence[BulkRecipient], audience: Audience,
        *, limit: int = MAX_BULK_RECIPIENTS,
    ) -> Recipients:
        country = self._accounts.profile(account_id).default_country
        seen: dict[str, int] = {}  # number -> its place in `chosen`
        chosen: list[BulkRecipient] = []
        duplicates = 0
        for recipient in explicit:
            key = _comparable(recipient.to, country)
            if key in seen:
                duplicates += 1
                continue
            seen[key] = len(chosen)
            chosen.append(recipient)
        if not audience.empty:
            for member in self._source.members(account_id, audience, limit):
                place = seen.get(member.phone)
                if place is not None:
                    # An explicit number that is also a contact: the contact's
                    # fields fill the variables the request did not give.
                    duplicates += 1
                    earlier = chosen[place]
                    chosen[place] = BulkRecipient(
                        earlier.to, {**member.variables, **earlier.variables}
                    )
                    continue
                seen[member.phone] = len(chosen)
                chosen.append(BulkRecipient(member.phone, dict(member.variables)))
        if len(chosen) > limit:
            raise ValidationFailed(
                f"A send reaches at most {limit} recipients; send to more as a campaign",
                max_recipients=limit,
            )
        if not chosen:
            raise ValidationFailed("No recipients: the groups and contacts named are empty")
        return Recipients(chosen, duplicates)


def _comparable(to: str, country: str | None) -> str:
    """The number in E.164 when it parses; as written otherwise (the send
    then refuses it with its reason)."""
    try:
        return normalise_phone(to, country)
    except DomainError:
        return to.strip()
