"""The contact base: contacts, their groups and tags, and opt-outs.

Every call is scoped to one account: another account's contact, group or tag
is NotFound, never Forbidden, so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from application.contacts.ports import (
    ContactPatch,
    ContactQuery,
    ContactStore,
    LabelStore,
    OptOutRegistry,
    Page,
)
from application.errors import NotFound, ValidationFailed
from application.ports import AccountDirectory
from domain.contact import (
    MAX_NAME_LENGTH,
    MAX_REFERENCE_LENGTH,
    clean_custom_fields,
    clean_email,
    clean_label,
    clean_text,
    contact_fields,
    normalise_phone,
)
from domain.inbound import OptAction

MAX_SEARCH_LENGTH = 100
MAX_OPT_OUT_SOURCE_LENGTH = 50


@dataclass(frozen=True, slots=True)
class NewContact:
    account_id: str
    phone: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    reference: str | None = None
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    group_id: UUID | None = None


class ContactService:
    def __init__(
        self,
        accounts: AccountDirectory,
        contacts: ContactStore,
        groups: LabelStore,
        tags: LabelStore,
        opt_outs: OptOutRegistry,
    ) -> None:
        self._accounts = accounts
        self._contacts = contacts
        self._groups = groups
        self._tags = tags
        self._opt_outs = opt_outs

    # Contacts ---------------------------------------------------------------

    def create(self, command: NewContact) -> dict[str, Any]:
        country = self._accounts.profile(command.account_id).default_country
        fields = contact_fields(
            phone=command.phone, default_country=country, first_name=command.first_name,
            last_name=command.last_name, email=command.email, reference=command.reference,
            custom_fields=command.custom_fields,
        )
        if command.group_id is not None:
            self.require_group(command.account_id, command.group_id)
        return self._contacts.create(command.account_id, fields, command.group_id)

    def get(self, account_id: str, contact_id: UUID) -> dict[str, Any]:
        found = self._contacts.get(account_id, contact_id)
        if found is None:
            raise NotFound("No such contact", contact_id=str(contact_id))
        return found

    def update(self, account_id: str, contact_id: UUID, patch: ContactPatch) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if patch.phone is not None:
            country = self._accounts.profile(account_id).default_country
            changes["phone"] = normalise_phone(patch.phone, country)
        for name, value, limit in (
            ("first_name", patch.first_name, MAX_NAME_LENGTH),
            ("last_name", patch.last_name, MAX_NAME_LENGTH),
            ("reference", patch.reference, MAX_REFERENCE_LENGTH),
        ):
            if value is not None:
                changes[name] = clean_text(value, name, limit)
        if patch.email is not None:
            changes["email"] = clean_email(patch.email)
        if patch.custom_fields is not None:
            changes["custom_fields"] = clean_custom_fields(patch.custom_fields)
        updated = self._contacts.update(account_id, contact_id, changes)
        if updated is None:
            raise NotFound("No such contact", contact_id=str(contact_id))
        return updated

    def delete(self, account_id: str, contact_id: UUID) -> None:
        if not self._contacts.delete(account_id, contact_id):
            raise NotFound("No such contact", contact_id=str(contact_id))

    def page(self, account_id: str, query: ContactQuery) -> Page:
        if query.search is not None and len(query.search) > MAX_SEARCH_LENGTH:
            raise ValidationFailed(f"search is at most {MAX_SEARCH_LENGTH} characters")
        if query.group_id is not None:
            self.require_group(account_id, query.group_id)
        if query.tag_id is not None:
            self._require_tag(account_id, query.tag_id)
        return self._contacts.page(account_id, query)

    def tag(self, account_id: str, contact_id: UUID, tag_id: UUID) -> dict[str, Any]:
        self._require_tag(account_id, tag_id)
        if not self._contacts.add_tag(account_id, contact_id, tag_id):
            raise NotFound("No such contact", contact_id=str(contact_id))
        return self.get(account_id, contact_id)

    def untag(self, account_id: str, contact_id: UUID, tag_id: UUID) -> None:
        self._require_tag(account_id, tag_id)
        if not self._contacts.remove_tag(account_id, contact_id, tag_id):
            raise NotFound("The contact has no such tag", contact_id=str(contact_id),
                           tag_id=str(tag_id))

    # Groups and tags -------------------------------------------------------

    def create_group(self, account_id: str, name: str) -> dict[str, Any]:
        return self._groups.create(account_id, clean_label(name, "group"))

    def groups(self, account_id: str) -> list[dict[str, Any]]:
        return self._groups.list(account_id)

    def delete_group(self, account_id: str, group_id: UUID) -> None:
        """The group goes; its contacts stay."""
        if not self._groups.delete(account_id, group_id):
            raise NotFound("No such group", group_id=str(group_id))

    def require_group(self, account_id: str, group_id: UUID) -> None:
        if not self._groups.exists(account_id, group_id):
            raise NotFound("No such group", group_id=str(group_id))

    def create_tag(self, account_id: str, name: str) -> dict[str, Any]:
        return self._tags.create(account_id, clean_label(name, "tag"))

    def tags(self, account_id: str) -> list[dict[str, Any]]:
        return self._tags.list(account_id)

    def delete_tag(self, account_id: str, tag_id: UUID) -> None:
        if not self._tags.delete(account_id, tag_id):
            raise NotFound("No such tag", tag_id=str(tag_id))

    def _require_tag(self, account_id: str, tag_id: UUID) -> None:
        if not self._tags.exists(account_id, tag_id):
            raise NotFound("No such tag", tag_id=str(tag_id))

    # Opt-outs ----------------------------------------------------------------

    def opt_out(self, account_id: str, phone: str, source: str) -> str:
        """Append an opt-out to the account's log; the number in E.164."""
        country = self._accounts.profile(account_id).default_country
        number = normalise_phone(phone, country)
        label = clean_text(source, "source", MAX_OPT_OUT_SOURCE_LENGTH) or "api"
        self._opt_outs.record(account_id, number, OptAction.OPT_OUT, source=label, keyword="")
        return number
