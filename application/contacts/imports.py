"""Importing contacts, from CSV or JSON, a chunk at a time.

An import is a job with a row of its own: every chunk of rows is written in
one transaction together with the job's running counts, so a client can
follow a long import (GET /v1/contacts/imports/{id}) and memory holds one
chunk, whatever the file's size.

The report counts every data row once:
- invalid: refused, listed with its line and the reason (the first
  MAX_LISTED_PROBLEMS of them; the count is complete);
- created: a new contact;
- updated: an existing contact the row changed;
- skipped: a row that changed nothing: the number already appeared earlier
  in the same import, or the contact already had these values.
imported = created + updated + skipped, and total = imported + invalid.
A blank line is not a row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application.contacts.ports import ImportProblem, ImportRow, ImportStore, ImportTally
from application.errors import ValidationFailed
from application.ports import AccountDirectory
from domain.contact import contact_fields, split_name
from domain.errors import DomainError

IMPORT_CHUNK_ROWS = 1_000
MAX_LISTED_PROBLEMS = 1_000
MAX_JSON_CONTACTS = 10_000
MAX_COLUMNS = 60

_HEADER_ALIASES = {
    "phone": "phone", "phone_number": "phone", "mobile": "phone", "msisdn": "phone",
    "number": "phone", "main_phone": "phone",
    "name": "name", "full_name": "name",
    "first_name": "first_name", "firstname": "first_name",
    "last_name": "last_name", "lastname": "last_name", "surname": "last_name",
    "email": "email", "email_address": "email",
    "reference": "reference", "ref": "reference",
}
_NOT_KEY = re.compile(r"[^a-z0-9_]+")


@dataclass(frozen=True, slots=True)
class ImportReport:
    import_id: UUID
    status: str
    tally: ImportTally


class CsvHeader:
    """What each column of a CSV means, from its header row."""

    def __init__(self, names: Sequence[str]) -> None:
        if len(names) > MAX_COLUMNS:
            raise ValidationFailed(f"A CSV has at most {MAX_COLUMNS} columns")
        keys = [self._key(name) for name in names]
        if "phone" not in keys:
            raise ValidationFailed(
                "The CSV's first line is a header naming a phone column, e.g. "
                "phone,name,email,custom_field",
                header=list(names),
            )
        if len(set(keys)) != len(keys):
            raise ValidationFailed("The CSV header names a column twice", header=list(names))
        self.keys = keys

    @staticmethod
    def _key(name: str) -> str:
        text = _NOT_KEY.sub("_", name.strip().lower()).strip("_")
        if not text:
            raise ValidationFailed("Every column of the CSV header needs a name")
        if text[0].isdigit():
            text = "_" + text
        return _HEADER_ALIASES.get(text, text)

    def phone_of(self, values: Sequence[str]) -> str:
        """The phone field of a row, as written (for a refused row's report)."""
        column = self.keys.index("phone")
        return values[column] if column < len(values) else ""

    def record(self, values: Sequence[str]) -> dict[str, Any]:
        """A row as contact fields; custom columns under custom_fields."""
        if len(values) != len(self.keys):
            raise ValidationFailed(
                f"expected {len(self.keys)} fields, found {len(values)}"
            )
        row: dict[str, Any] = {"custom_fields": {}}
        for key, value in zip(self.keys, values, strict=True):
            if key in ("phone", "name", "first_name", "last_name", "email", "reference"):
                row[key] = value
            elif value.strip():
                row["custom_fields"][key] = value.strip()
        if "name" in row:
            first, last = split_name(row.pop("name"))
            row.setdefault("first_name", first)
            row.setdefault("last_name", last)
        return row


class ImportSession:
    """One import job: feed it rows, then finish it."""

    def __init__(
        self, store: ImportStore, accounts: AccountDirectory, account_id: str,
        group_id: UUID | None, fmt: str,
    ) -> None:
        self._store = store
        self._account_id = account_id
        self._group_id = group_id
        self._country = accounts.profile(account_id).default_country
        self.import_id = store.begin(account_id, group_id, fmt)
        self.tally = ImportTally()
        self._chunk: list[ImportRow] = []

    def add(self, line: int, row: Mapping[str, Any]) -> None:
        """One data row; a chunk is written once it is full."""
        self.tally.total += 1
        try:
            fields = contact_fields(
                phone=str(row.get("phone") or ""), default_country=self._country,
                first_name=row.get("first_name"), last_name=row.get("last_name"),
                email=row.get("email"), reference=row.get("reference"),
                custom_fields=row.get("custom_fields") or {},
            )
        except DomainError as error:
            self.refuse(line, str(row.get("phone") or ""), error.message, counted=True)
            return
        self._chunk.append(ImportRow(line, fields))
        if len(self._chunk) >= IMPORT_CHUNK_ROWS:
            self.flush()

    def refuse(self, line: int, phone: str, reason: str, *, counted: bool = False) -> None:
        if not counted:
            self.tally.total += 1
        self.tally.invalid += 1
        if len(self.tally.problems) < MAX_LISTED_PROBLEMS:
            # Kept in PostgreSQL with the job: a NUL cannot be, so it is shown
            # as the replacement character.
            shown = phone.replace("\x00", "\ufffd")
            self.tally.problems.append(ImportProblem(line, shown, reason))

    def flush(self) -> None:
        if not self._chunk:
            return
        counts = self._store.write_chunk(
            self.import_id, self._account_id, self._group_id, self._chunk, self.tally
        )
        self.tally.created += counts.created
        self.tally.updated += counts.updated
        self.tally.skipped += counts.skipped
        self._chunk = []

    def finish(self) -> ImportReport:
        self.flush()
        self._store.finish(self.import_id, self.tally, None)
        return ImportReport(self.import_id, "completed", self.tally)

    def fail(self, reason: str) -> None:
        """The import stopped part way (a bad file, a dropped connection):
        the chunks written so far stay, and the job says where it stopped."""
        self._store.finish(self.import_id, self.tally, reason)


def import_json(
    session: ImportSession, contacts: Sequence[Mapping[str, Any]]
) -> ImportReport:
    """POST /v1/contacts/import: at most MAX_JSON_CONTACTS, lines are 1-based
    positions in the array."""
    if len(contacts) > MAX_JSON_CONTACTS:
        raise ValidationFailed(f"An import has at most {MAX_JSON_CONTACTS} contacts")
    try:
        for index, contact in enumerate(contacts, start=1):
            session.add(index, contact)
        return session.finish()
    except BaseException as error:
        session.fail(str(error) or type(error).__name__)
        raise


def take_csv_records(
    session: ImportSession, header: CsvHeader | None,
    records: Sequence[tuple[int, list[str]]],
) -> CsvHeader | None:
    """Feed parsed CSV records to the session: the first non-blank one is the
    header; a row that does not fit it is refused with its line."""
    for line, values in records:
        if not any(value.strip() for value in values):
            continue  # a blank line is not a row
        if header is None:
            header = CsvHeader(values)
            continue
        try:
            row = header.record(values)
        except ValidationFailed as error:
            session.refuse(line, header.phone_of(values), error.message)
            continue
        session.add(line, row)
    return header
