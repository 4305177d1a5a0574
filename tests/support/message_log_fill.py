"""Filling the message log read model fast, for export tests and benchmarks.

Rows go in with one COPY, shaped as the projection writes them: a mix of
countries, statuses and charges over a month. The export reads this table
and nothing else, so how the rows got there does not change what it does.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import psycopg

COUNTRIES = (("GB", "+4477009", 34_800), ("US", "+1202555", 6_300), ("FR", "+336123", 71_100))
STATES = (("delivered", "captured"), ("failed", "released"), ("sent", "held"))
COPY_COLUMNS = (
    "message_id", "account_id", "destination", "country", "sender", "encoding", "segments",
    "price_micros", "currency", "sandbox", "status", "charge", "accepted_at",
    "submitted_at", "delivered_at", "final_at", "updated_at", "last_event_id",
)


def fill_message_log(database_url: str, account_id: str, rows: int, start: datetime) -> int:
    """Copy `rows` messages of `account_id`, accepted from `start` on, one a
    second; returns the captured cost of them all in micros."""
    captured = 0
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
        columns = ", ".join(COPY_COLUMNS)
        with cursor.copy(f"COPY rm_message_log ({columns}) FROM STDIN") as copy:
            for index in range(rows):
                country, prefix, price = COUNTRIES[index % len(COUNTRIES)]
                status, charge = STATES[index % len(STATES)]
                accepted = start + timedelta(seconds=index)
                final = accepted + timedelta(seconds=5) if status != "sent" else None
                captured += price if charge == "captured" else 0
                copy.write_row((
                    uuid.UUID(int=index + 1), account_id, f"{prefix}{index % 100_000:05d}",
                    country, "Acme", "GSM7", 1, price, "GBP", False, status, charge,
                    accepted, accepted + timedelta(seconds=1),
                    final if status == "delivered" else None, final, accepted, index + 1,
                ))
        conn.commit()
    return captured
