"""Groups and tags of contacts, and the contacts an audience names."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg.rows import class_row, dict_row
from psycopg_pool import ConnectionPool

from application.contacts.ports import Audience, AudienceMember
from application.errors import Conflict, NotFound

# What a contact offers a template, computed where the rows are (see
# domain.contact.template_variables, which a test holds equal to it).
TEMPLATE_VARIABLES_SQL = (
    "jsonb_strip_nulls(c.custom_fields || jsonb_build_object("
    "'phone', c.phone, 'first_name', c.first_name, 'last_name', c.last_name,"
    " 'name', nullif(concat_ws(' ', c.first_name, c.last_name), ''),"
    " 'email', c.email, 'reference', c.reference))"
)
AUDIENCE_CONDITION_SQL = (
    "c.account_id = %(account)s AND c.deleted_at IS NULL AND (%(all)s"
    " OR c.id = ANY(%(contacts)s::uuid[])"
    " OR EXISTS (SELECT 1 FROM contact_group_members m"
    "            WHERE m.contact_id = c.id AND m.group_id = ANY(%(groups)s::uuid[])))"
)


class PostgresLabels:
    """Groups (members: contact_group_members) or tags (contact_tag_links)."""

    def __init__(self, pool: ConnectionPool, *, kind: str) -> None:
        assert kind in ("group", "tag")
        self._pool = pool
        self._kind = kind
        self._table = "contact_groups" if kind == "group" else "contact_tags"
        self._links = "contact_group_members" if kind == "group" else "contact_tag_links"
        self._key = "group_id" if kind == "group" else "tag_id"

    def create(self, account_id: str, name: str) -> dict[str, Any]:
        try:
            with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
                row = cur.execute(
                    f"INSERT INTO {self._table} (id, account_id, name) VALUES (%s, %s, %s)"
                    " RETURNING id::text AS id, name, created_at, 0 AS contact_count",
                    (uuid4(), account_id, name),
                ).fetchone()
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"A {self._kind} with this name already exists", name=name) from None
        assert row is not None
        return row

    def list(self, account_id: str) -> list[dict[str, Any]]:
        """Every label of the account, by name, with its live contacts counted.
        An account has tens of labels, not thousands: no paging."""
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(
                f"SELECT g.id::text AS id, g.name, g.created_at,"
                f" (SELECT count(*) FROM {self._links} m JOIN contacts c ON c.id = m.contact_id"
                f"  WHERE m.{self._key} = g.id AND c.deleted_at IS NULL) AS contact_count"
                f" FROM {self._table} g WHERE g.account_id = %s ORDER BY g.name",
                (account_id,),
            ).fetchall()

    def delete(self, account_id: str, label_id: UUID) -> bool:
        """The label and its links go (ON DELETE CASCADE); the contacts stay."""
        with self._pool.connection() as conn:
            cur = conn.execute(
                f"DELETE FROM {self._table} WHERE account_id = %s AND id = %s",
                (account_id, label_id),
            )
            return cur.rowcount == 1

    def exists(self, account_id: str, label_id: UUID) -> bool:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT 1 FROM {self._table} WHERE account_id = %s AND id = %s",
                (account_id, label_id),
            ).fetchone()
        return row is not None


class PostgresAudience:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def members(self, account_id: str, audience: Audience, limit: int) -> list[AudienceMember]:
        params = audience_params(account_id, audience)
        with self._pool.connection() as conn:
            check_audience(conn, account_id, audience)
            with conn.cursor(row_factory=class_row(AudienceMember)) as cur:
                return cur.execute(
                    "SELECT c.id AS contact_id, c.phone, " + TEMPLATE_VARIABLES_SQL
                    + " AS variables FROM contacts c WHERE " + AUDIENCE_CONDITION_SQL
                    + " ORDER BY c.created_at, c.id LIMIT %(limit)s",
                    {**params, "limit": limit + 1},
                ).fetchall()


def audience_params(account_id: str, audience: Audience) -> dict[str, Any]:
    return {
        "account": account_id,
        "all": audience.all_contacts,
        "contacts": list(audience.contact_ids),
        "groups": list(audience.group_ids),
    }


def check_audience(
    conn: psycopg.Connection[Any], account_id: str, audience: Audience
) -> None:
    """NotFound naming the groups and contacts that are not the account's."""
    if audience.group_ids:
        found = {row[0] for row in conn.execute(
            "SELECT id FROM contact_groups WHERE account_id = %s AND id = ANY(%s::uuid[])",
            (account_id, list(audience.group_ids)),
        )}
        missing = [str(g) for g in audience.group_ids if g not in found]
        if missing:
            raise NotFound("No such group", group_ids=missing)
    if audience.contact_ids:
        found = {row[0] for row in conn.execute(
            "SELECT id FROM contacts WHERE account_id = %s AND id = ANY(%s::uuid[])"
            " AND deleted_at IS NULL",
            (account_id, list(audience.contact_ids)),
        )}
        missing = [str(c) for c in audience.contact_ids if c not in found]
        if missing:
            raise NotFound("No such contact", contact_ids=missing[:100])
