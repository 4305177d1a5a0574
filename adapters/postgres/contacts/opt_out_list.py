"""Reading the opt-out log: the numbers an account may not send to now,
each with the source and time of its opt-out."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from projections.common import AnyCursor, check_page_size, decode_cursor, encode_cursor

_CURRENT = (
    "SELECT id, phone, source, keyword, created_at FROM ("
    "  SELECT DISTINCT ON (phone) id, phone, action, source, keyword, created_at"
    "  FROM opt_outs WHERE account_id = %s ORDER BY phone, id DESC"
    ") AS latest WHERE action = 'opt_out'"
)


def list_opt_outs(
    cursor: AnyCursor, account_id: str, *, page_size: int, cursor_token: str | None
) -> tuple[list[dict[str, Any]], str | None, bool, int]:
    """Newest first: (rows, next cursor, has_more, total)."""
    check_page_size(page_size)
    after = decode_cursor(cursor_token, ("i",))["i"] if cursor_token else None
    if after is not None and not isinstance(after, int):
        raise ValueError("invalid cursor")
    with cursor.connection.cursor(row_factory=dict_row) as read:
        counted = read.execute(
            "SELECT count(*) AS n FROM (" + _CURRENT + ") AS current", (account_id,)
        ).fetchone()
        rows = read.execute(
            "SELECT * FROM (" + _CURRENT + ") AS current WHERE %s::bigint IS NULL OR id < %s"
            " ORDER BY id DESC LIMIT %s",
            (account_id, after, after, page_size + 1),
        ).fetchall()
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    token = encode_cursor({"i": rows[-1]["id"]}) if has_more else None
    return rows, token, has_more, int(counted["n"]) if counted else 0


def latest_opt_out(cursor: AnyCursor, account_id: str, phone: str) -> dict[str, Any] | None:
    with cursor.connection.cursor(row_factory=dict_row) as read:
        return read.execute(
            "SELECT phone, source, keyword, created_at FROM opt_outs"
            " WHERE account_id = %s AND phone = %s ORDER BY id DESC LIMIT 1",
            (account_id, phone),
        ).fetchone()

