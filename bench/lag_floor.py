"""The floor for benchmark 5: the least work that takes a bulk from its
commit to the message log on this machine.

One process reads the log straight from the events table (binary rows of
the columns it needs, a prepared statement, 5,000 at a time), decodes each
stored `Message.Accepted` into a struct of just the fields a row needs, and
COPYs the rows into `rm_message_log` itself, with the same columns and the
same indexes, moving the `message_log` position in the same transaction.
No NATS, no envelopes, no other read model, no batching rules: whatever
keeps this message log current has to do at least this much, so its lag
under the same burst is the baseline the product's lag is compared with.
It polls as often as the relay does (every 20 ms when idle).
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import datetime
from multiprocessing.synchronize import Event as EventType
from typing import Any
from uuid import UUID

import msgspec
import psycopg

IDLE_POLL_S = 0.02  # the relay's
SECTION_ROWS = 5_000
STOP_TIMEOUT_S = 30.0

_SELECT = (
    "SELECT notification_id, originator_id, topic, state FROM {table}"
    " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
)
COPY_COLUMNS = (
    "message_id, account_id, campaign_id, client_ref, destination, country, sender,"
    " encoding, segments, price_micros, currency, sandbox, status, carrier,"
    " carrier_message_id, carrier_status, error_code, error_reason, charge, accepted_at,"
    " submitted_at, delivered_at, final_at, updated_at, last_event_id, events"
)
COPY_TYPES = (
    "uuid", "text", "uuid", "text", "text", "text", "text", "text", "int4", "int8", "text",
    "bool", "text", "text", "text", "text", "text", "text", "text", "timestamptz",
    "timestamptz", "timestamptz", "timestamptz", "timestamptz", "int8",
    "bytea",  # jsonb's binary form, written as it is: a version byte, then text
)
_ADVANCE = "UPDATE projection_positions SET position = %s WHERE name = 'message_log'"


class _Accepted(msgspec.Struct):
    """The stored fields a row needs; msgspec skips the rest."""

    timestamp: datetime
    account_id: str
    campaign_id: UUID | None
    client_ref: str | None
    destination: str
    country: str
    sender: str
    encoding: str
    segments: int
    price_micros: int
    currency: str
    sandbox: bool


_decoder = msgspec.json.Decoder(_Accepted)


def run_floor(database_url: str, table: str, topic: str, start: int,
              stop: EventType) -> None:
    """The floor's process: sections of the log into the message log until `stop`."""
    select = _SELECT.format(table=table)  # our own table name
    copy_sql = f"COPY rm_message_log ({COPY_COLUMNS}) FROM STDIN (FORMAT BINARY)"
    position = start
    with psycopg.connect(database_url) as conn, conn.cursor(binary=True) as cursor:
        while not stop.is_set():
            rows = cursor.execute(select, (position, SECTION_ROWS), prepare=True).fetchall()
            if not rows:
                conn.commit()
                time.sleep(IDLE_POLL_S)
                continue
            with cursor.copy(copy_sql) as copy:
                copy.set_types(COPY_TYPES)
                for notification_id, message_id, stored_topic, state in rows:
                    if stored_topic == topic:
                        copy.write_row(row_of(notification_id, message_id, state))
            position = rows[-1][0]
            cursor.execute(_ADVANCE, (position,))
            conn.commit()


def row_of(notification_id: int, message_id: UUID, state: bytes) -> tuple[Any, ...]:
    """The message log's row for a stored acceptance, timeline included."""
    s = _decoder.decode(state)
    at = s.timestamp
    timeline = (
        b'\x01[{"id":%d,"type":"message.accepted","status":"queued","carrier_status":"",'
        b'"error_code":"","at":"%s"}]' % (notification_id, at.isoformat().encode())
    )
    return (
        message_id, s.account_id, s.campaign_id, s.client_ref, s.destination, s.country,
        s.sender, s.encoding, s.segments, s.price_micros, s.currency, s.sandbox, "queued",
        "", "", "", "", "", "held" if s.price_micros > 0 else "none", at, None, None, None,
        at, notification_id, timeline,
    )


class FloorProcess:
    """`run_floor` in a process of its own, as the product's workers run."""

    def __init__(self, database_url: str, table: str, topic: str, start: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._process = context.Process(
            target=run_floor, args=(database_url, table, topic, start, self._stop),
            name="bench-lag-floor", daemon=True,
        )

    def start(self) -> None:
        self._process.start()

    def stop(self) -> None:
        self._stop.set()
        self._process.join(STOP_TIMEOUT_S)
        if self._process.is_alive():
            self._process.kill()
        if self._process.exitcode not in (0, None):
            raise RuntimeError(f"the floor process failed (exit code {self._process.exitcode})")
