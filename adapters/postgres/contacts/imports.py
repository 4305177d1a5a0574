"""Import jobs and their chunks: each chunk's contacts, group memberships and
the job's running counts are written in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import msgspec
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from application.contacts.ports import ChunkCounts, ImportRow, ImportTally

# A join on the chunk's numbers, so each is one probe of the unique index
# whatever the planner knows of the account's size.
_EXISTING = (
    "SELECT c.phone, c.first_name, c.last_name, c.email, c.reference, c.custom_fields,"
    " c.last_import_id FROM unnest(%s::text[]) AS t(phone)"
    " JOIN contacts c ON c.account_id = %s AND c.phone = t.phone AND c.deleted_at IS NULL"
    " FOR UPDATE OF c"
)
# Empty fields of a row leave the contact's value; custom fields merge.
_UPSERT = (
    "INSERT INTO contacts AS c (id, account_id, phone, first_name, last_name, email, reference,"
    " custom_fields, last_import_id)"
    " SELECT gen_random_uuid(), %s, t.phone, t.first_name, t.last_name, t.email, t.reference,"
    " t.custom_fields::jsonb, %s"
    " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
    " AS t(phone, first_name, last_name, email, reference, custom_fields)"
    " ON CONFLICT (account_id, phone) WHERE deleted_at IS NULL DO UPDATE SET"
    " first_name = coalesce(excluded.first_name, c.first_name),"
    " last_name = coalesce(excluded.last_name, c.last_name),"
    " email = coalesce(excluded.email, c.email),"
    " reference = coalesce(excluded.reference, c.reference),"
    " custom_fields = c.custom_fields || excluded.custom_fields,"
    " last_import_id = excluded.last_import_id,"
    " updated_at = CASE WHEN (c.first_name, c.last_name, c.email, c.reference, c.custom_fields)"
    "   IS DISTINCT FROM (coalesce(excluded.first_name, c.first_name),"
    "   coalesce(excluded.last_name, c.last_name), coalesce(excluded.email, c.email),"
    "   coalesce(excluded.reference, c.reference), c.custom_fields || excluded.custom_fields)"
    "   THEN now() ELSE c.updated_at END"
    " RETURNING c.id"
)
# The upsert and the memberships in one statement: the ids never leave the server.
_UPSERT_INTO_GROUP = (
    "WITH written AS (" + _UPSERT + ")"
    " INSERT INTO contact_group_members (group_id, contact_id)"
    " SELECT %s, id FROM written ON CONFLICT DO NOTHING"
)
_PROGRESS = (
    "UPDATE contact_imports SET total = %s, imported = %s, created = %s, updated = %s,"
    " skipped = %s, invalid = %s, errors = %s, updated_at = now() WHERE id = %s"
)


# A large import changes the contacts table faster than autovacuum re-reads
# its statistics; on stale ones the planner probes the chunk's numbers by
# scanning the whole account. Refreshing them every few chunks keeps each
# lookup an index probe.
ANALYZE_EVERY_CHUNKS = 10


class PostgresContactImports:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._chunks: dict[UUID, int] = {}

    def begin(self, account_id: str, group_id: UUID | None, fmt: str) -> UUID:
        import_id = uuid4()
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO contact_imports (id, account_id, group_id, format, status)"
                " VALUES (%s, %s, %s, %s, 'running')",
                (import_id, account_id, group_id, fmt),
            )
        return import_id

    def write_chunk(self, import_id: UUID, account_id: str, group_id: UUID | None,
                    rows: Sequence[ImportRow], tally: ImportTally) -> ChunkCounts:
        first: dict[str, ImportRow] = {}
        for row in rows:
            first.setdefault(row.fields.phone, row)
        skipped = len(rows) - len(first)  # repeated within this chunk
        created = updated = 0
        written = self._chunks[import_id] = self._chunks.get(import_id, 0) + 1
        with self._pool.connection() as conn, conn.transaction():
            if written % ANALYZE_EVERY_CHUNKS == 0:
                conn.execute("ANALYZE contacts")
            existing = {
                r[0]: r for r in conn.execute(_EXISTING, (list(first), account_id)).fetchall()
            }
            to_write: list[ImportRow] = []
            for phone, row in first.items():
                found = existing.get(phone)
                if found is None:
                    created += 1
                elif found[6] == import_id:  # met in an earlier chunk of this import
                    skipped += 1
                    continue
                elif _changes(found, row):
                    updated += 1
                else:
                    skipped += 1
                to_write.append(row)
            self._upsert(conn, account_id, import_id, group_id, to_write)
            counts = ChunkCounts(created, updated, skipped)
            conn.execute(_PROGRESS, (*_figures(tally, counts), import_id))
        return counts

    @staticmethod
    def _upsert(conn: Any, account_id: str, import_id: UUID, group_id: UUID | None,
                rows: Sequence[ImportRow]) -> None:
        if not rows:
            return
        # Plain text arrays: psycopg adapts them far faster than arrays of
        # Jsonb wrappers; the server parses the JSON.
        fields = [row.fields for row in rows]
        columns = (
            [f.phone for f in fields], [f.first_name for f in fields],
            [f.last_name for f in fields], [f.email for f in fields],
            [f.reference for f in fields],
            [_json(f.custom_fields) for f in fields],
        )
        if group_id is None:
            conn.execute(_UPSERT, (account_id, import_id, *columns))
        else:
            conn.execute(_UPSERT_INTO_GROUP, (account_id, import_id, *columns, group_id))

    def finish(self, import_id: UUID, tally: ImportTally, failure: str | None) -> None:
        self._chunks.pop(import_id, None)
        with self._pool.connection() as conn:
            conn.execute(_PROGRESS, (*_figures(tally, ChunkCounts(0, 0, 0)), import_id))
            conn.execute(
                "UPDATE contact_imports SET status = %s, failure = %s, finished_at = now()"
                " WHERE id = %s",
                ("failed" if failure else "completed", failure and failure[:500], import_id),
            )

    def get(self, account_id: str, import_id: UUID) -> dict[str, Any] | None:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(
                "SELECT id::text AS id, group_id::text AS group_id, format, status, total,"
                " imported, created, updated, skipped, invalid, errors, failure, started_at,"
                " updated_at, finished_at FROM contact_imports WHERE account_id = %s AND id = %s",
                (account_id, import_id),
            ).fetchone()


_encode = msgspec.json.Encoder()


def _json(values: Any) -> str:
    return _encode.encode(dict(values)).decode()


def _changes(found: tuple[Any, ...], row: ImportRow) -> bool:
    f = row.fields
    merged = (
        f.first_name or found[1], f.last_name or found[2], f.email or found[3],
        f.reference or found[4], {**found[5], **f.custom_fields},
    )
    return merged != (found[1], found[2], found[3], found[4], found[5])


def _figures(tally: ImportTally, chunk: ChunkCounts) -> tuple[Any, ...]:
    created, updated = tally.created + chunk.created, tally.updated + chunk.updated
    skipped = tally.skipped + chunk.skipped
    problems = [
        {"line": p.line, "phone": p.phone, "reason": p.reason} for p in tally.problems
    ]
    return (tally.total, created + updated + skipped, created, updated, skipped, tally.invalid,
            Jsonb(problems))
