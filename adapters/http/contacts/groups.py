"""/v1/contacts/groups and /v1/contacts/tags: named sets of contacts, and the
CSV import into a group."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.bodies import DeletedOut, Envelope, Meta, Page, Pagination
from adapters.http.contacts.imports import MAX_CSV_BYTES, import_out, stream_csv
from adapters.http.contacts.schemas import ImportOut, LabelIn, LabelOut
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.postgres.contacts.imports import PostgresContactImports
from adapters.postgres.identity.accounts import PostgresAccounts
from application.contacts.imports import ImportSession
from application.contacts.service import ContactService
from application.identity.principal import Principal


def label_out(row: dict[str, Any]) -> LabelOut:
    return LabelOut(id=row["id"], name=row["name"], contact_count=int(row["contact_count"]),
                    created_at=row["created_at"])


def _labels(meta: Meta, rows: list[dict[str, Any]]) -> Page[LabelOut]:
    return Page(
        data=[label_out(r) for r in rows],
        pagination=Pagination(len(rows), max(1, len(rows)), False, None),
        meta=meta,
    )


class ContactGroupsController(Controller):
    path = "/v1/contacts/groups"
    tags = ["Contacts"]

    @get("/", operation_id="listContactGroups", summary="List contact groups", sync_to_thread=True)
    def groups(self, meta: RequestMeta,
               principal: NamedDependency[Principal],
               contacts: Service[ContactService]) -> Page[LabelOut]:
        """Every group of the account, by name, with its live contacts counted."""
        require_permission(principal, "contacts.read")
        return _labels(meta, contacts.groups(principal.account_id))

    @post("/", operation_id="createContactGroup",
          summary="Create a contact group", status_code=201, sync_to_thread=True)
    def create(self, meta: RequestMeta, data: JSONBody[LabelIn],
               principal: NamedDependency[Principal],
               contacts: Service[ContactService]) -> Envelope[LabelOut]:
        require_permission(principal, "contacts.write")
        row = contacts.create_group(principal.account_id, data.name)
        return Envelope(label_out(row), meta)

    @delete("/{group_id:uuid}", operation_id="deleteContactGroup",
            summary="Delete a contact group", status_code=200,
            sync_to_thread=True)
    def delete_group(self, meta: RequestMeta, group_id: FromPath[UUID],
               principal: NamedDependency[Principal],
               contacts: Service[ContactService]) -> Envelope[DeletedOut]:
        """The group goes; its contacts stay."""
        require_permission(principal, "contacts.write")
        contacts.delete_group(principal.account_id, group_id)
        return Envelope(DeletedOut(str(group_id), True),
                               meta)

    @post("/{group_id:uuid}/import", operation_id="importContactsCsv",
          summary="Import contacts into a group from CSV", status_code=200,
          request_max_body_size=MAX_CSV_BYTES)
    async def import_csv(self, request: Request[Any, Any, Any], meta: RequestMeta,
                         group_id: FromPath[UUID],
                         principal: NamedDependency[Principal],
                         accounts: Service[PostgresAccounts],
                         contact_imports: Service[PostgresContactImports],
                         contacts: Service[ContactService]) -> Envelope[ImportOut]:
        """The body is the CSV file itself (Content-Type: text/csv), UTF-8, with a
        header row: phone,name,email,custom_field... Rows are written as they
        arrive; GET /v1/contacts/imports/{id} follows a long import."""
        require_permission(principal, "contacts.write")
        await asyncio.to_thread(contacts.require_group, principal.account_id,
                                group_id)
        session = await asyncio.to_thread(
            ImportSession, contact_imports, accounts, principal.account_id,
            group_id, "csv",
        )
        report = await stream_csv(request.stream(), session)
        return Envelope(import_out(report, group_id),
                              meta)


class ContactTagsController(Controller):
    path = "/v1/contacts/tags"
    tags = ["Contacts"]

    @get("/", operation_id="listContactTags", summary="List contact tags", sync_to_thread=True)
    def tags_(self, meta: RequestMeta,
              principal: NamedDependency[Principal],
              contacts: Service[ContactService]) -> Page[LabelOut]:
        require_permission(principal, "contacts.read")
        return _labels(meta, contacts.tags(principal.account_id))

    @post("/", operation_id="createContactTag",
          summary="Create a contact tag", status_code=201, sync_to_thread=True)
    def create(self, meta: RequestMeta, data: JSONBody[LabelIn],
               principal: NamedDependency[Principal],
               contacts: Service[ContactService]) -> Envelope[LabelOut]:
        require_permission(principal, "contacts.write")
        row = contacts.create_tag(principal.account_id, data.name)
        return Envelope(label_out(row), meta)

    @delete("/{tag_id:uuid}", operation_id="deleteContactTag",
            summary="Delete a contact tag", status_code=200,
            sync_to_thread=True)
    def delete_tag(self, meta: RequestMeta, tag_id: FromPath[UUID],
               principal: NamedDependency[Principal],
               contacts: Service[ContactService]) -> Envelope[DeletedOut]:
        require_permission(principal, "contacts.write")
        contacts.delete_tag(principal.account_id, tag_id)
        return Envelope(DeletedOut(str(tag_id), True),
                               meta)
