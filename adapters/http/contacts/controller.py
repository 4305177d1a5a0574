"""/v1/contacts: contacts, their tags, and the JSON import.

contacts.read to read, contacts.write to change. Another account's contact,
group or tag is 404.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from adapters.http.bodies import DeletedOut, Envelope, Page, Pagination
from adapters.http.contacts.imports import import_out, job_out
from adapters.http.contacts.schemas import (
    ContactIn,
    ContactOut,
    ContactPatchIn,
    ImportIn,
    ImportOut,
    TagLinkIn,
)
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.http.pagination import DEFAULT_PAGE_SIZE, PageCursor, PageSize
from adapters.postgres.contacts.imports import PostgresContactImports
from adapters.postgres.identity.accounts import PostgresAccounts
from application.contacts.imports import ImportSession, import_json
from application.contacts.ports import ContactPatch, ContactQuery
from application.contacts.service import ContactService, NewContact
from application.errors import NotFound
from application.identity.principal import Principal


def uuid_or_404(value: str | None, what: str) -> UUID | None:
    """An id from a body or query: one that is not a UUID names nothing."""
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"No such {what}", **{f"{what}_id": value}) from None


def contact_out(row: dict[str, Any]) -> ContactOut:
    return ContactOut(
        id=row["id"], phone=row["phone"], first_name=row["first_name"],
        last_name=row["last_name"], email=row["email"], reference=row["reference"],
        custom_fields=row["custom_fields"], group_ids=row["group_ids"], tags=row["tags"],
        tag_ids=row["tag_ids"], created_at=row["created_at"], updated_at=row["updated_at"],
    )


class ContactsController(Controller):
    path = "/v1/contacts"
    tags = ["Contacts"]

    @get("/", operation_id="listContacts", summary="List contacts", sync_to_thread=True)
    def contacts(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        contacts: Service[ContactService],
        search: FromQuery[str | None] = None, group_id: FromQuery[str | None] = None,
        tag_id: FromQuery[str | None] = None, page_size: PageSize = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> Page[ContactOut]:
        """Live contacts, newest first; `search` matches names and phone."""
        require_permission(principal, "contacts.read")
        page = contacts.page(principal.account_id, ContactQuery(
            search=search, group_id=uuid_or_404(group_id, "group"),
            tag_id=uuid_or_404(tag_id, "tag"), page_size=page_size, cursor=cursor,
        ))
        return Page(
            data=[contact_out(row) for row in page.rows],
            pagination=Pagination(page.total, page_size, page.has_more, page.cursor),
            meta=meta,
        )

    @post("/", operation_id="createContact",
          summary="Create a contact", status_code=201, sync_to_thread=True)
    def create(
        self, meta: RequestMeta, data: JSONBody[ContactIn],
        principal: NamedDependency[Principal], contacts: Service[ContactService],
    ) -> Envelope[ContactOut]:
        require_permission(principal, "contacts.write")
        row = contacts.create(NewContact(
            principal.account_id, data.phone, first_name=data.first_name or data.firstName,
            last_name=data.last_name or data.lastName, email=data.email,
            reference=data.reference, custom_fields=data.custom_fields or {},
            group_id=uuid_or_404(data.group_id or data.groupId, "group"),
        ))
        return Envelope(data=contact_out(row), meta=meta)

    @get("/{contact_id:uuid}", operation_id="getContact",
         summary="Get a contact", sync_to_thread=True)
    def contact(
        self, meta: RequestMeta, contact_id: FromPath[UUID],
        principal: NamedDependency[Principal], contacts: Service[ContactService],
    ) -> Envelope[ContactOut]:
        require_permission(principal, "contacts.read")
        row = contacts.get(principal.account_id, contact_id)
        return Envelope(data=contact_out(row), meta=meta)

    @patch("/{contact_id:uuid}", operation_id="updateContact",
           summary="Update a contact", sync_to_thread=True)
    def update(
        self, meta: RequestMeta, contact_id: FromPath[UUID],
        data: JSONBody[ContactPatchIn], principal: NamedDependency[Principal],
        contacts: Service[ContactService],
    ) -> Envelope[ContactOut]:
        require_permission(principal, "contacts.write")
        row = contacts.update(principal.account_id, contact_id,
                                                       ContactPatch(
            phone=data.phone, first_name=data.first_name, last_name=data.last_name,
            email=data.email, reference=data.reference, custom_fields=data.custom_fields,
        ))
        return Envelope(data=contact_out(row), meta=meta)

    @delete("/{contact_id:uuid}", operation_id="deleteContact",
            summary="Delete a contact", status_code=200,
            sync_to_thread=True)
    def delete_contact(
        self, meta: RequestMeta, contact_id: FromPath[UUID],
        principal: NamedDependency[Principal], contacts: Service[ContactService],
    ) -> Envelope[DeletedOut]:
        """Soft: the contact is no longer listed or sent to; its number is free."""
        require_permission(principal, "contacts.write")
        contacts.delete(principal.account_id, contact_id)
        return Envelope(DeletedOut(str(contact_id), True), meta)

    @post("/{contact_id:uuid}/tags", operation_id="tagContact",
          summary="Tag a contact", status_code=200,
          sync_to_thread=True)
    def tag(
        self, meta: RequestMeta, contact_id: FromPath[UUID],
        data: JSONBody[TagLinkIn], principal: NamedDependency[Principal],
        contacts: Service[ContactService],
    ) -> Envelope[ContactOut]:
        require_permission(principal, "contacts.write")
        tag_id = uuid_or_404(data.tag_id, "tag")
        assert tag_id is not None
        row = contacts.tag(principal.account_id, contact_id, tag_id)
        return Envelope(data=contact_out(row), meta=meta)

    @delete("/{contact_id:uuid}/tags/{tag_id:uuid}", operation_id="untagContact",
            summary="Remove a tag from a contact",
            status_code=200, sync_to_thread=True)
    def untag(
        self, meta: RequestMeta, contact_id: FromPath[UUID],
        tag_id: FromPath[UUID], principal: NamedDependency[Principal],
        contacts: Service[ContactService],
    ) -> Envelope[ContactOut]:
        require_permission(principal, "contacts.write")
        contacts.untag(principal.account_id, contact_id, tag_id)
        return Envelope(
            data=contact_out(contacts.get(principal.account_id, contact_id)),
            meta=meta,
        )

    @post("/import", operation_id="importContacts",
          summary="Import contacts from JSON", status_code=200, sync_to_thread=True)
    def import_contacts(
        self, meta: RequestMeta, data: JSONBody[ImportIn],
        principal: NamedDependency[Principal], accounts: Service[PostgresAccounts],
        contacts: Service[ContactService], contact_imports: Service[PostgresContactImports],
    ) -> Envelope[ImportOut]:
        """Up to 10,000 contacts as JSON; the report's lines are 1-based
        positions in `contacts`."""
        require_permission(principal, "contacts.write")
        group_id = uuid_or_404(data.group_id or data.groupId, "group")
        if group_id is not None:
            contacts.require_group(principal.account_id, group_id)
        session = ImportSession(contact_imports, accounts,
                                principal.account_id, group_id, "json")
        rows = [
            {"phone": c.phone, "first_name": c.first_name or c.firstName,
             "last_name": c.last_name or c.lastName, "email": c.email,
             "reference": c.reference, "custom_fields": c.custom_fields or {}}
            for c in data.contacts
        ]
        report = import_json(session, rows)
        return Envelope(data=import_out(report, group_id), meta=meta)

    @get("/imports/{import_id:uuid}", operation_id="getContactImport",
         summary="Get an import's progress", sync_to_thread=True)
    def import_job(
        self, meta: RequestMeta, import_id: FromPath[UUID],
        principal: NamedDependency[Principal], contact_imports: Service[PostgresContactImports],
    ) -> Envelope[ImportOut]:
        """An import's progress while it runs, and its report once done."""
        require_permission(principal, "contacts.read")
        row = contact_imports.get(principal.account_id, import_id)
        if row is None:
            raise NotFound("No such import", import_id=str(import_id))
        return Envelope(data=job_out(row), meta=meta)
