"""Read your writes: messages the message log has not reached yet.

The message log is built from JetStream and trails the store by the relay's
and the projection's lag: 60 ms on a quiet machine, seconds under a bulk. A
client that reads a message it has just sent must not be told it does not
exist. So a read of the log that misses asks the store: a message's own
events, found by their aggregate id, are folded by the log's own rules
(`projections.message_log.fold_rows`) into the row the log will hold. A
lookup by client_ref adds the acceptances in the store's tail, after the
log's tracking position, that carry that reference.

The log's position is read before the log itself. An acceptance the log
shows is at or below some position at least as high, so reading in that
order, nothing committed before the read began can be missed; one that
shows up in both places is shown once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper
from eventsourcing.utils import get_topic
from psycopg import Connection, Cursor

from adapters.eventstore.envelopes import envelopes_of_rows, is_plain
from adapters.eventstore.rows import RowQuery
from domain.message import Message
from projections.message_log import MessageLog, fold_rows, list_messages, with_unprojected

Row = dict[str, Any]

# Of the store's newest events, how many a client_ref lookup scans for
# acceptances the log has not reached. Beyond that the log has fallen so far
# behind that its own lag is the problem to fix; this only bounds the cost
# of one read (an indexed range and a byte search, about 10 ms per 100,000
# events here).
MAX_TAIL_EVENTS = 200_000
# At most this many unprojected messages are added to one page of a lookup.
MAX_TAIL_MESSAGES = 500
_ACCEPTED_TOPIC = get_topic(Message.Accepted)
_POSITION = "SELECT position FROM projection_positions WHERE name = %s"


class UnprojectedMessages:
    def __init__(self, events_table: str, mapper: Mapper[Any]) -> None:
        self._mapper = mapper
        # The log's acceptance is a stored Message.Accepted whose JSON state
        # holds `"field":value` exactly as msgspec writes it: the server
        # finds candidates by bytes, and the fold keeps exact matches only.
        self._searchable = is_plain(mapper)
        self._events_of = RowQuery(
            events_table, "originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        )
        self._tail_acceptances = RowQuery(
            events_table,
            "notification_id > greatest(%s, (SELECT coalesce(max(notification_id), 0)"
            " FROM {table}) - %s) AND topic = %s"
            " AND position(%s::bytea in state) > 0 AND position(%s::bytea in state) > 0"
            " ORDER BY notification_id DESC LIMIT %s",
        )

    def message(self, cursor: Cursor[Any], account_id: str, message_id: str) -> Row | None:
        """The message as the log will show it, from its stored events; None
        when there is none, or it is another account's."""
        try:
            wanted = UUID(message_id)
        except ValueError:
            return None
        rows = self._fold(cursor.connection, [wanted])
        return rows[0] if rows and rows[0]["account_id"] == account_id else None

    def first_page_by_client_ref(
        self, cursor: Cursor[Any], account_id: str, client_ref: str, *, sandbox: bool,
        accepted_after: datetime | None, page_size: int,
    ) -> tuple[list[Row], str | None, bool, int]:
        """The first page of the log's messages with this client_ref, as
        `list_messages` gives it, with those accepted since the log's
        position in their places."""
        row = cursor.connection.execute(_POSITION, (MessageLog.name,)).fetchone()
        position = int(row[0]) if row else 0
        logged = list_messages(
            cursor, account_id, client_ref=client_ref, sandbox=sandbox, page_size=page_size,
            accepted_after=accepted_after,
        )
        recent = [
            row for row in self._by_client_ref(cursor.connection, position, account_id, client_ref)
            if row["sandbox"] == sandbox
            and (accepted_after is None or row["accepted_at"] > accepted_after)
        ]
        return with_unprojected(logged, recent, page_size)

    def _by_client_ref(
        self, conn: Connection[Any], position: int, account_id: str, client_ref: str
    ) -> list[Row]:
        """The account's messages with this client_ref accepted after the
        log's `position`, newest first."""
        if not self._searchable:
            return []
        rows = self._tail_acceptances.fetch(conn, (
            position, MAX_TAIL_EVENTS, _ACCEPTED_TOPIC,
            _field("account_id", account_id), _field("client_ref", client_ref),
            MAX_TAIL_MESSAGES,
        ))
        found = self._fold(conn, [UUID(str(row[1])) for row in rows])
        return [
            row for row in found
            if row["account_id"] == account_id and row["client_ref"] == client_ref
        ]

    def _fold(self, conn: Connection[Any], message_ids: list[UUID]) -> list[Row]:
        if not message_ids:
            return []
        stored = self._events_of.fetch(conn, (message_ids,))
        rows = fold_rows(envelopes_of_rows(self._mapper, stored))
        rows.sort(key=lambda r: (r["accepted_at"], r["message_id"]), reverse=True)
        return rows


def _field(name: str, value: str) -> bytes:
    return b'"' + name.encode() + b'":' + msgspec.json.encode(value)
