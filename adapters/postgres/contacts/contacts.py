"""Contacts in PostgreSQL: one row per contact, soft-deleted, a phone unique
among an account's live contacts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from application.contacts.ports import ContactQuery, Page
from application.errors import Conflict, ValidationFailed
from domain.contact import ContactFields
from projections.common import decode_cursor, encode_cursor

_COLUMNS = (
    "c.id::text AS id, c.phone, c.first_name, c.last_name, c.email, c.reference,"
    " c.custom_fields, c.created_at, c.updated_at,"
    " ARRAY(SELECT m.group_id::text FROM contact_group_members m"
    "       WHERE m.contact_id = c.id ORDER BY m.group_id) AS group_ids,"
    " ARRAY(SELECT t.name FROM contact_tag_links l JOIN contact_tags t ON t.id = l.tag_id"
    "       WHERE l.contact_id = c.id ORDER BY t.name) AS tags,"
    " ARRAY(SELECT l.tag_id::text FROM contact_tag_links l"
    "       WHERE l.contact_id = c.id ORDER BY l.tag_id) AS tag_ids"
)
_LIVE = "c.account_id = %s AND c.deleted_at IS NULL"
_EDITABLE = ("phone", "first_name", "last_name", "email", "reference", "custom_fields")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class PostgresContacts:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def create(self, account_id: str, fields: ContactFields,
               group_id: UUID | None) -> dict[str, Any]:
        contact_id = uuid4()
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute(
                    "INSERT INTO contacts (id, account_id, phone, first_name, last_name, email,"
                    " reference, custom_fields) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (contact_id, account_id, fields.phone, fields.first_name, fields.last_name,
                     fields.email, fields.reference, Jsonb(dict(fields.custom_fields))),
                )
                if group_id is not None:
                    conn.execute(
                        "INSERT INTO contact_group_members (group_id, contact_id)"
                        " VALUES (%s, %s)", (group_id, contact_id),
                    )
        except psycopg.errors.UniqueViolation:
            raise Conflict(
                "A contact with this phone already exists", phone=fields.phone,
                contact_id=self._id_of(account_id, fields.phone),
            ) from None
        found = self.get(account_id, contact_id)
        assert found is not None
        return found

    def _id_of(self, account_id: str, phone: str) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT id::text FROM contacts c WHERE " + _LIVE + " AND c.phone = %s",
                (account_id, phone),
            ).fetchone()
        return str(row[0]) if row else None

    def get(self, account_id: str, contact_id: UUID) -> dict[str, Any] | None:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(
                "SELECT " + _COLUMNS + " FROM contacts c WHERE " + _LIVE + " AND c.id = %s",
                (account_id, contact_id),
            ).fetchone()

    def update(self, account_id: str, contact_id: UUID,
               changes: Mapping[str, Any]) -> dict[str, Any] | None:
        assert set(changes) <= set(_EDITABLE)
        if changes:
            assignments = sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(name)) for name in changes
            )
            values = [Jsonb(v) if k == "custom_fields" else v for k, v in changes.items()]
            try:
                with self._pool.connection() as conn:
                    conn.execute(
                        sql.SQL(
                            "UPDATE contacts SET {}, updated_at = now()"
                            " WHERE account_id = %s AND id = %s AND deleted_at IS NULL"
                        ).format(assignments),
                        [*values, account_id, contact_id],
                    )
            except psycopg.errors.UniqueViolation:
                raise Conflict(
                    "A contact with this phone already exists", phone=changes.get("phone"),
                ) from None
        return self.get(account_id, contact_id)

    def delete(self, account_id: str, contact_id: UUID) -> bool:
        """Soft: the row stays (messages and campaigns may name it), its
        number is free for a new contact, and it is sent nothing more."""
        with self._pool.connection() as conn:
            cur = conn.execute(
                "UPDATE contacts SET deleted_at = now() WHERE account_id = %s AND id = %s"
                " AND deleted_at IS NULL", (account_id, contact_id),
            )
            return cur.rowcount == 1

    def page(self, account_id: str, query: ContactQuery) -> Page:
        conditions: list[str] = [_LIVE]
        params: list[object] = [account_id]
        if query.search:
            pattern = _like(query.search.strip())
            conditions.append(
                "(c.first_name ILIKE %s OR c.last_name ILIKE %s OR c.phone LIKE %s"
                " OR concat_ws(' ', c.first_name, c.last_name) ILIKE %s)"
            )
            params += [pattern, pattern, _like(query.search.strip().replace(" ", "")), pattern]
        if query.group_id is not None:
            conditions.append(
                "EXISTS (SELECT 1 FROM contact_group_members m"
                " WHERE m.contact_id = c.id AND m.group_id = %s)"
            )
            params.append(query.group_id)
        if query.tag_id is not None:
            conditions.append(
                "EXISTS (SELECT 1 FROM contact_tag_links l"
                " WHERE l.contact_id = c.id AND l.tag_id = %s)"
            )
            params.append(query.tag_id)
        where = " AND ".join(conditions)
        page_conditions, page_params = list(conditions), list[object](params)
        if query.cursor:
            key = _decode(query.cursor)
            page_conditions.append("(c.created_at, c.id) < (%s, %s)")
            page_params += [key[0], key[1]]
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            counted = cur.execute("SELECT count(*) AS n FROM contacts c WHERE " + where,
                                  params).fetchone()
            rows = cur.execute(
                "SELECT " + _COLUMNS + " FROM contacts c WHERE " + " AND ".join(page_conditions)
                + " ORDER BY c.created_at DESC, c.id DESC LIMIT %s",
                [*page_params, query.page_size + 1],
            ).fetchall()
        has_more = len(rows) > query.page_size
        rows = rows[: query.page_size]
        token = (
            encode_cursor({"c": rows[-1]["created_at"].isoformat(), "i": rows[-1]["id"]})
            if has_more else None
        )
        return Page(rows, token, has_more, int(counted["n"]) if counted else 0)

    def add_tag(self, account_id: str, contact_id: UUID, tag_id: UUID) -> bool:
        with self._pool.connection() as conn:
            cur = conn.execute(
                "INSERT INTO contact_tag_links (tag_id, contact_id)"
                " SELECT %s, c.id FROM contacts c WHERE " + _LIVE + " AND c.id = %s"
                " ON CONFLICT DO NOTHING",
                (tag_id, account_id, contact_id),
            )
            if cur.rowcount == 1:
                return True
        return self.get(account_id, contact_id) is not None

    def remove_tag(self, account_id: str, contact_id: UUID, tag_id: UUID) -> bool:
        with self._pool.connection() as conn:
            cur = conn.execute(
                "DELETE FROM contact_tag_links l USING contacts c WHERE l.contact_id = c.id"
                " AND l.tag_id = %s AND " + _LIVE + " AND c.id = %s",
                (tag_id, account_id, contact_id),
            )
            return cur.rowcount == 1


def _decode(token: str) -> tuple[datetime, UUID]:
    try:
        key = decode_cursor(token, ("c", "i"))
        return datetime.fromisoformat(key["c"]), UUID(key["i"])
    except (ValueError, TypeError, KeyError) as error:
        raise ValidationFailed("invalid cursor") from error
