"""Webhook endpoints in PostgreSQL: create, read, change, delete, rotate the
secret; and the requests that queue deliveries by hand (a test ping, a
replay). Every statement is scoped to the caller's account: another
account's endpoint is NOT_FOUND.
"""

from __future__ import annotations

import secrets as random_secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from psycopg import Cursor
from psycopg.rows import class_row, dict_row
from psycopg_pool import ConnectionPool

from adapters.webhooks.intake import insert_deliveries
from application.errors import Conflict, NotFound, ValidationFailed
from domain.webhooks.catalogue import PING, WebhookEvent, subscribes
from domain.webhooks.signing import SECRET_KEY_BYTES, secret_from_key

MAX_ENDPOINTS_PER_ACCOUNT = 20
ROTATION_OVERLAP = timedelta(hours=24)
MAX_REPLAY_EVENTS = 100_000

_COLUMNS = (
    "id, url, events, description, active, disabled_reason, disabled_at, failing_since,"
    " previous_secret_until, created_at, updated_at"
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: UUID
    url: str
    events: list[str]
    description: str
    active: bool
    disabled_reason: str
    disabled_at: datetime | None
    failing_since: datetime | None
    previous_secret_until: datetime | None
    created_at: datetime
    updated_at: datetime


def new_secret() -> str:
    return secret_from_key(random_secrets.token_bytes(SECRET_KEY_BYTES))


class WebhookEndpoints:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def create(
        self, account_id: str, url: str, events: list[str], description: str, active: bool
    ) -> tuple[Endpoint, str]:
        """The new endpoint and its secret, which is shown this once."""
        secret = new_secret()
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                         (f"webhook_endpoints:{account_id}",))
            row = conn.execute(
                "SELECT count(*) FROM webhook_endpoints WHERE account_id = %s", (account_id,)
            ).fetchone()
            if row is not None and int(row[0]) >= MAX_ENDPOINTS_PER_ACCOUNT:
                raise Conflict(
                    f"An account has at most {MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints",
                    max_endpoints=MAX_ENDPOINTS_PER_ACCOUNT,
                )
            with conn.cursor(row_factory=class_row(Endpoint)) as cursor:
                cursor.execute(
                    "INSERT INTO webhook_endpoints"
                    " (id, account_id, url, events, description, active, secret)"
                    f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                    (uuid4(), account_id, url, events, description, active, secret),
                )
                created = cursor.fetchone()
        assert created is not None
        return created, secret

    def get(self, account_id: str, endpoint_id: UUID) -> Endpoint:
        with self._pool.connection() as conn, conn.cursor(
            row_factory=class_row(Endpoint)
        ) as cursor:
            cursor.execute(
                f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE account_id = %s AND id = %s",
                (account_id, endpoint_id),
            )
            row = cursor.fetchone()
        if row is None:
            raise NotFound("No such webhook endpoint", id=str(endpoint_id))
        return row

    def page(
        self, account_id: str, page_size: int, after: str | None
    ) -> tuple[list[Endpoint], str | None, bool, int]:
        """Endpoints oldest first; `after` is the id of the last one seen."""
        conditions = "account_id = %s"
        params: list[Any] = [account_id]
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            counted = cursor.execute(
                "SELECT count(*) AS n FROM webhook_endpoints WHERE account_id = %s",
                (account_id,),
            ).fetchone()
            if after is not None:
                conditions += (
                    " AND (created_at, id) > (SELECT created_at, id FROM webhook_endpoints"
                    " WHERE account_id = %s AND id = %s)"
                )
                params += [account_id, _uuid_cursor(after)]
            cursor.execute(
                f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE {conditions}"
                " ORDER BY created_at, id LIMIT %s",
                [*params, page_size + 1],
            )
            rows = [Endpoint(**row) for row in cursor.fetchall()]
        has_more = len(rows) > page_size
        rows = rows[:page_size]
        token = str(rows[-1].id) if has_more and rows else None
        return rows, token, has_more, int(counted["n"]) if counted else 0

    def update(self, account_id: str, endpoint_id: UUID, changes: dict[str, Any]) -> Endpoint:
        """Change url, events, description or active; turning an endpoint
        back on clears why it was turned off."""
        allowed = {"url", "events", "description", "active"}
        assert set(changes) <= allowed
        if not changes:
            return self.get(account_id, endpoint_id)
        assignments = [f"{name} = %s" for name in changes]
        params: list[Any] = list(changes.values())
        if changes.get("active") is True:
            assignments += ["disabled_reason = ''", "disabled_at = NULL", "failing_since = NULL"]
        with self._pool.connection() as conn, conn.cursor(
            row_factory=class_row(Endpoint)
        ) as cursor:
            cursor.execute(
                f"UPDATE webhook_endpoints SET {', '.join(assignments)}, updated_at = now()"
                f" WHERE account_id = %s AND id = %s RETURNING {_COLUMNS}",
                [*params, account_id, endpoint_id],
            )
            row = cursor.fetchone()
        if row is None:
            raise NotFound("No such webhook endpoint", id=str(endpoint_id))
        return row

    def delete(self, account_id: str, endpoint_id: UUID) -> None:
        with self._pool.connection() as conn:
            deleted = conn.execute(
                "DELETE FROM webhook_endpoints WHERE account_id = %s AND id = %s",
                (account_id, endpoint_id),
            ).rowcount
        if not deleted:
            raise NotFound("No such webhook endpoint", id=str(endpoint_id))

    def rotate_secret(self, account_id: str, endpoint_id: UUID) -> tuple[Endpoint, str]:
        """A new secret; the current one keeps signing beside it for 24 hours."""
        secret = new_secret()
        with self._pool.connection() as conn, conn.cursor(
            row_factory=class_row(Endpoint)
        ) as cursor:
            cursor.execute(
                "UPDATE webhook_endpoints SET previous_secret = secret, secret = %s,"
                " previous_secret_until = now() + %s, updated_at = now()"
                f" WHERE account_id = %s AND id = %s RETURNING {_COLUMNS}",
                (secret, ROTATION_OVERLAP, account_id, endpoint_id),
            )
            row = cursor.fetchone()
        if row is None:
            raise NotFound("No such webhook endpoint", id=str(endpoint_id))
        return row, secret

    def send_test(self, account_id: str, endpoint_id: UUID, now: datetime) -> UUID:
        """Queue a `ping` for the endpoint, active or not; its event id."""
        endpoint = self.get(account_id, endpoint_id)
        event = WebhookEvent(
            id=uuid4(), type=PING, account_id=account_id, created_at=now,
            data={"endpoint_id": str(endpoint.id), "message": "It works."},
            subject=None, envelope_id=None,
        )
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            row = cursor.execute(
                "INSERT INTO webhook_events (id, account_id, type, occurred_at, body)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING seq",
                (event.id, account_id, event.type, now, event.body()),
            ).fetchone()
            assert row is not None
            insert_deliveries(cursor, [(int(row[0]), account_id, endpoint.id, "test",
                                        endpoint.url, str(endpoint.id), None)])
        return event.id

    def replay(
        self, account_id: str, endpoint_id: UUID, *, since: datetime | None,
        since_event_id: UUID | None, until: datetime | None,
    ) -> int:
        """Queue every kept event of the account from `since` (or from the
        event `since_event_id`, itself included) to `until` (excluded), that
        the endpoint subscribes to; how many."""
        endpoint = self.get(account_id, endpoint_id)
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            lower = _replay_lower_bound(cursor, account_id, since, since_event_id)
            cursor.execute(
                "SELECT seq, type, subject FROM webhook_events"
                " WHERE account_id = %s AND envelope_id IS NOT NULL AND seq >= %s"
                " AND occurred_at >= %s AND (%s::timestamptz IS NULL OR occurred_at < %s)"
                " ORDER BY seq LIMIT %s",
                (account_id, lower[0], lower[1], until, until, MAX_REPLAY_EVENTS + 1),
            )
            events = [row for row in cursor.fetchall() if subscribes(endpoint.events, row[1])]
            if len(events) > MAX_REPLAY_EVENTS:
                raise ValidationFailed(
                    f"A replay re-delivers at most {MAX_REPLAY_EVENTS} events; narrow the range",
                    max_events=MAX_REPLAY_EVENTS,
                )
            if events:
                insert_deliveries(cursor, [
                    (seq, account_id, endpoint.id, "replay", endpoint.url, str(endpoint.id),
                     subject)
                    for seq, _, subject in events
                ])
        return len(events)

    def attempts(
        self, account_id: str, endpoint_id: UUID, page_size: int, after: str | None
    ) -> tuple[list[dict[str, Any]], str | None, bool, int]:
        """Every attempt at the endpoint's deliveries, newest first."""
        self.get(account_id, endpoint_id)
        before = _int_cursor(after)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            counted = cursor.execute(
                "SELECT count(*) AS n FROM webhook_attempts WHERE endpoint_id = %s",
                (endpoint_id,),
            ).fetchone()
            cursor.execute(
                "SELECT a.id, a.delivery_id, a.attempt, a.status_code, a.latency_ms, a.error,"
                " a.attempted_at, a.next_attempt_at, d.kind, d.status AS delivery_status,"
                " d.url, ev.id AS event_id, ev.type AS event"
                " FROM webhook_attempts a"
                " JOIN webhook_deliveries d ON d.id = a.delivery_id"
                " JOIN webhook_events ev ON ev.seq = d.event_seq"
                " WHERE a.endpoint_id = %s AND (%s::bigint IS NULL OR a.id < %s)"
                " ORDER BY a.id DESC LIMIT %s",
                (endpoint_id, before, before, page_size + 1),
            )
            rows = cursor.fetchall()
        has_more = len(rows) > page_size
        rows = rows[:page_size]
        token = str(rows[-1]["id"]) if has_more and rows else None
        return rows, token, has_more, int(counted["n"]) if counted else 0


def _replay_lower_bound(
    cursor: Cursor[Any], account_id: str, since: datetime | None, since_event_id: UUID | None
) -> tuple[int, datetime]:
    if (since is None) == (since_event_id is None):
        raise ValidationFailed("Give either since (a time) or since_event_id")
    if since is not None:
        return 0, since
    row = cursor.execute(
        "SELECT seq FROM webhook_events WHERE account_id = %s AND id = %s",
        (account_id, since_event_id),
    ).fetchone()
    if row is None:
        raise NotFound("No such webhook event", since_event_id=str(since_event_id))
    return int(row[0]), datetime.min.replace(tzinfo=UTC)


def _uuid_cursor(token: str) -> UUID:
    try:
        return UUID(token)
    except ValueError:
        raise ValidationFailed("invalid cursor") from None


def _int_cursor(token: str | None) -> int | None:
    if token is None:
        return None
    if not token.isdigit() or len(token) > 19:
        raise ValidationFailed("invalid cursor")
    return int(token)
