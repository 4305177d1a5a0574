"""Request and response bodies of the contacts API.

Field names are snake_case; seed 002's camelCase spellings (firstName,
lastName, groupId) are accepted as well on create and import.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from adapters.http.bodies import NO_NUL, Request

Text = Annotated[str, msgspec.Meta(max_length=500, pattern=NO_NUL)]
Phone = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=NO_NUL)]
CustomFields = dict[
    Annotated[str, msgspec.Meta(pattern=NO_NUL)],
    Annotated[str, msgspec.Meta(pattern=NO_NUL)] | int | float | bool,
]


class ContactIn(Request):
    phone: Phone
    first_name: Text | None = None
    firstName: Text | None = None  # noqa: N815 - seed 002's spelling
    last_name: Text | None = None
    lastName: Text | None = None  # noqa: N815 - seed 002's spelling
    email: Text | None = None
    reference: Text | None = None
    custom_fields: CustomFields | None = None
    group_id: str | None = None
    groupId: str | None = None  # noqa: N815 - seed 002's spelling


class ContactPatchIn(Request):
    phone: Phone | None = None
    first_name: Text | None = None
    last_name: Text | None = None
    email: Text | None = None
    reference: Text | None = None
    custom_fields: CustomFields | None = None  # replaces the contact's custom fields


class ContactOut(msgspec.Struct, kw_only=True):
    id: str
    phone: str
    first_name: str | None
    last_name: str | None
    email: str | None
    reference: str | None
    custom_fields: dict[str, Any]
    group_ids: list[str]
    tags: list[str]
    tag_ids: list[str]
    created_at: datetime
    updated_at: datetime


class LabelIn(Request):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]


class TagLinkIn(Request):
    tag_id: str


class LabelOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    contact_count: int
    created_at: datetime


class ImportContactIn(Request):
    phone: Annotated[str, msgspec.Meta(max_length=64, pattern=NO_NUL)]
    first_name: Text | None = None
    firstName: Text | None = None  # noqa: N815 - seed 002's spelling
    last_name: Text | None = None
    lastName: Text | None = None  # noqa: N815 - seed 002's spelling
    email: Text | None = None
    reference: Text | None = None
    custom_fields: CustomFields | None = None


class ImportIn(Request):
    contacts: Annotated[list[ImportContactIn], msgspec.Meta(min_length=1, max_length=10_000)]
    group_id: str | None = None
    groupId: str | None = None  # noqa: N815 - seed 002's spelling


class InvalidRowOut(msgspec.Struct):
    line: int
    phone: str
    reason: str


class ImportOut(msgspec.Struct, kw_only=True):
    id: str
    status: str  # running, completed or failed
    group_id: str | None
    imported: int
    created: int
    updated: int
    skipped: int
    invalid: int
    total: int
    invalid_rows: list[InvalidRowOut]  # the first 1,000, by line
    failure: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class OptOutIn(Request):
    phone: Phone
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=NO_NUL)] = "api"


class OptOutOut(msgspec.Struct):
    phone: str
    source: str
    keyword: str
    opted_out_at: datetime


