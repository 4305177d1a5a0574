"""The usage export: one CSV line per message of the message log, streamed.

PostgreSQL formats the CSV itself and streams it with COPY ... TO STDOUT,
so neither the server nor this process ever holds more than one block of
rows: memory stays flat whether the range has a hundred messages or ten
million. The rows come from the account's index in (accepted_at,
message_id) order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import psycopg
from psycopg import sql

# Rows are gathered into blocks of about this size before they are handed on,
# so each hand-over (a thread hop in the HTTP server) carries many rows.
BLOCK_BYTES = 64 * 1024

COLUMNS = (
    "id", "destination", "country", "segments", "status", "charge", "price_micros",
    "cost_micros", "cost", "currency", "accepted_at", "submitted_at", "delivered_at",
    "final_at",
)
HEADER = (",".join(COLUMNS) + "\n").encode()

_SELECT = """
SELECT message_id, destination, country, segments, status, charge, price_micros,
       CASE WHEN charge = 'captured' THEN price_micros ELSE 0 END,
       to_char(CASE WHEN charge = 'captured' THEN price_micros ELSE 0 END / 1000000.0,
               'FM999999999990.000000'),
       currency,
       to_char(accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       to_char(submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       to_char(delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       to_char(final_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
FROM rm_message_log
WHERE account_id = {account} AND sandbox = {sandbox}
  AND accepted_at >= {start} AND accepted_at <= {end}
ORDER BY accepted_at, message_id
"""


def usage_csv(
    conn: psycopg.Connection[object], account_id: str, *, sandbox: bool,
    start: datetime, end: datetime,
) -> Iterator[bytes]:
    """The header, then the rows in blocks of about BLOCK_BYTES."""
    query = sql.SQL(_SELECT).format(
        account=sql.Literal(account_id), sandbox=sql.Literal(sandbox),
        start=sql.Literal(start), end=sql.Literal(end),
    )
    copy_sql = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)
    yield HEADER
    block = bytearray()
    with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for row in copy:
            block += row
            if len(block) >= BLOCK_BYTES:
                yield bytes(block)
                block.clear()
    if block:
        yield bytes(block)
