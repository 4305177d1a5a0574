"""Saved templates in PostgreSQL."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.errors import UniqueViolation
from psycopg.rows import kwargs_row
from psycopg_pool import ConnectionPool

from adapters.postgres.keyset import newest_first
from adapters.postgres.quotas import insert_within_quota
from application.errors import Conflict
from application.settings.templates import SavedTemplate

COLUMNS = ("id", "account_id", "name", "content", "variables", "created_at", "updated_at")
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM templates"


class PostgresTemplates:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def add(self, template: SavedTemplate, *, limit: int) -> None:
        row = {
            "id": template.id, "account_id": template.account_id, "name": template.name,
            "content": template.content, "variables": list(template.variables),
            "created_at": template.created_at, "updated_at": template.updated_at,
        }
        insert_within_quota(
            self._pool, "templates", row, limit=limit, what="templates",
            conflict=_name_taken(template.name),
        )

    def get(self, account_id: str, template_id: UUID) -> SavedTemplate | None:
        with self._pool.connection() as conn, conn.cursor(
            row_factory=kwargs_row(_template)
        ) as cur:
            return cur.execute(_SELECT + " WHERE id = %s AND account_id = %s",
                               (template_id, account_id)).fetchone()

    def replace(self, template: SavedTemplate) -> bool:
        try:
            with self._pool.connection() as conn:
                updated = conn.execute(
                    "UPDATE templates SET name = %s, content = %s, variables = %s,"
                    " updated_at = %s WHERE id = %s AND account_id = %s",
                    (template.name, template.content, list(template.variables),
                     template.updated_at, template.id, template.account_id),
                ).rowcount
        except UniqueViolation:
            raise _name_taken(template.name) from None
        return updated == 1

    def delete(self, account_id: str, template_id: UUID) -> bool:
        with self._pool.connection() as conn:
            deleted = conn.execute("DELETE FROM templates WHERE id = %s AND account_id = %s",
                                   (template_id, account_id)).rowcount
        return deleted == 1

    def page(
        self, account_id: str, page_size: int, cursor: str | None
    ) -> tuple[list[SavedTemplate], str | None, bool, int]:
        return newest_first(
            self._pool, "templates", COLUMNS, account_id, page_size, cursor, _template
        )


def _name_taken(name: str) -> Conflict:
    return Conflict("The account already has a template with this name", name=name)


def _template(*, variables: list[str], **columns: Any) -> SavedTemplate:
    """A template from its columns, by name (a text[] comes back as a list)."""
    return SavedTemplate(**columns, variables=tuple(variables))
