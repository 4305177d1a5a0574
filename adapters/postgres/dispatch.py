"""PostgreSQL implementations of the dispatcher's ports, the routes of
replies, and route loading."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.rows import class_row, kwargs_row
from psycopg_pool import ConnectionPool

from application.delivery.carriers import DeliveryReceipt
from application.delivery.ports import AwaitedReceipt, SentTo
from application.delivery.routing import ReceiptPolicy, Route, reply_country


def load_routes(pool: ConnectionPool) -> list[Route]:
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT name, prefix, carrier, messages_per_second, receipt_policy,"
            " grace_minutes, capture_on_silence FROM routes WHERE active ORDER BY name"
        ).fetchall()
    return [
        Route(name, prefix, carrier, float(mps), ReceiptPolicy(policy), int(grace), bool(cap))
        for name, prefix, carrier, mps, policy, grace, cap in rows
    ]


def route_callback_secret(pool: ConnectionPool, route_name: str) -> tuple[str, bytes] | None:
    """The route's carrier and the SHA-256 of its callback secret, if it has one."""
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT carrier, callback_secret_sha256 FROM routes"
            " WHERE name = %s AND active AND callback_secret_sha256 IS NOT NULL",
            (route_name,),
        ).fetchone()
    return (str(row[0]), bytes(row[1])) if row else None


class RouteCallbackSecrets:
    """The routes' callback secrets, as the carrier callbacks check them."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def of(self, route_name: str) -> tuple[str, bytes] | None:
        return route_callback_secret(self._pool, route_name)


class PostgresDispatchClaims:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def claim(self, message_ids: Sequence[UUID], owner: str, lease_s: float) -> set[UUID]:
        if not message_ids:
            return set()
        with self._pool.connection() as conn:
            rows = conn.execute(
                "INSERT INTO dispatch_claims (message_id, owner, claimed_until)"
                " SELECT id, %s, now() + make_interval(secs => %s) FROM unnest(%s::uuid[]) AS id"
                " ON CONFLICT (message_id) DO UPDATE"
                " SET owner = EXCLUDED.owner, claimed_until = EXCLUDED.claimed_until"
                " WHERE dispatch_claims.claimed_until < now()"
                "    OR dispatch_claims.owner = EXCLUDED.owner"
                " RETURNING message_id",
                (owner, lease_s, list(message_ids)),
            ).fetchall()
        return {row[0] for row in rows}

    def release(self, message_ids: Sequence[UUID]) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "DELETE FROM dispatch_claims WHERE message_id = ANY(%s)", (list(message_ids),)
            )


class PostgresReplyRoutes:
    """Implements ReplyRoutes and InboundRouter: a reply goes to the account
    that last had a live message handed to a carrier for its number, and its
    national numbers read in the country of the route it came by."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def note(self, sent: Sequence[SentTo]) -> None:
        # One row per number, the last in order: a statement may not update
        # a row twice.
        latest = {s.destination: s.account_id for s in sent}
        if not latest:
            return
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO reply_routes (destination, account_id)"
                " SELECT * FROM unnest(%s::text[], %s::text[])"
                " ON CONFLICT (destination) DO UPDATE"
                " SET account_id = EXCLUDED.account_id, noted_at = now()",
                (list(latest), list(latest.values())),
            )

    def account_for(self, source: str) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT account_id FROM reply_routes WHERE destination = %s", (source,)
            ).fetchone()
        return str(row[0]) if row else None

    def country_for(self, carrier: str, route: str | None) -> str | None:
        # Read afresh for each reply: replies are few, and a route just
        # added applies at once.
        return reply_country(load_routes(self._pool), carrier, route)


class PostgresReceiptIndex:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def add(self, entries: Sequence[AwaitedReceipt]) -> None:
        with self._pool.connection() as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO awaited_receipts (message_id, carrier, carrier_message_id,"
                " settle_after, capture_on_silence) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT (message_id) DO NOTHING",
                [(e.message_id, e.carrier, e.carrier_message_id, e.settle_after,
                  e.capture_on_silence) for e in entries],
            )

    def find(self, carrier: str, carrier_message_ids: Sequence[str]) -> dict[str, UUID]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT carrier_message_id, message_id FROM awaited_receipts"
                " WHERE carrier = %s AND carrier_message_id = ANY(%s)",
                (carrier, list(carrier_message_ids)),
            ).fetchall()
        return {str(carrier_id): message_id for carrier_id, message_id in rows}

    def remove(self, message_ids: Sequence[UUID]) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "DELETE FROM awaited_receipts WHERE message_id = ANY(%s)", (list(message_ids),)
            )

    def overdue(self, now: datetime, limit: int) -> list[AwaitedReceipt]:
        with self._pool.connection() as conn, conn.cursor(
            row_factory=class_row(AwaitedReceipt)
        ) as cur:
            return cur.execute(
                "SELECT message_id, carrier, carrier_message_id, settle_after,"
                " capture_on_silence FROM awaited_receipts WHERE settle_after < %s"
                " ORDER BY settle_after LIMIT %s",
                (now, limit),
            ).fetchall()

    def park(self, receipts: Sequence[DeliveryReceipt], now: datetime) -> None:
        with self._pool.connection() as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO parked_receipts (carrier, carrier_message_id, carrier_state,"
                " error_code, done_at, raw, parked_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(r.carrier, r.carrier_message_id, r.carrier_state, r.error_code, r.done_at,
                  r.raw, now) for r in receipts],
            )

    def matched_parked(self, limit: int) -> list[tuple[int, DeliveryReceipt]]:
        # Driven by the parked table (small) into the index's unique key.
        with self._pool.connection() as conn, conn.cursor(
            row_factory=kwargs_row(_numbered_receipt)
        ) as cur:
            return cur.execute(
                "SELECT p.id AS row_id, p.carrier, p.carrier_message_id, p.carrier_state,"
                " p.error_code, p.done_at, p.raw FROM parked_receipts p"
                " WHERE EXISTS (SELECT 1 FROM awaited_receipts a WHERE a.carrier = p.carrier"
                "               AND a.carrier_message_id = p.carrier_message_id)"
                " ORDER BY p.id LIMIT %s",
                (limit,),
            ).fetchall()

    def unpark(self, parked_ids: Sequence[int]) -> None:
        if parked_ids:
            with self._pool.connection() as conn:
                conn.execute("DELETE FROM parked_receipts WHERE id = ANY(%s)", (list(parked_ids),))

    def expire_parked(self, parked_before: datetime, limit: int) -> list[DeliveryReceipt]:
        with self._pool.connection() as conn, conn.cursor(
            row_factory=class_row(DeliveryReceipt)
        ) as cur:
            return cur.execute(
                "DELETE FROM parked_receipts WHERE id IN ("
                "  SELECT p.id FROM parked_receipts p WHERE p.parked_at < %s"
                "  AND NOT EXISTS (SELECT 1 FROM awaited_receipts a WHERE a.carrier = p.carrier"
                "                  AND a.carrier_message_id = p.carrier_message_id)"
                "  ORDER BY p.id LIMIT %s)"
                " RETURNING carrier, carrier_message_id, carrier_state, error_code, done_at, raw",
                (parked_before, limit),
            ).fetchall()

    def receive(self, receipts: Sequence[DeliveryReceipt], now: datetime) -> None:
        with self._pool.connection() as conn, conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO received_receipts (carrier, carrier_message_id, carrier_state,"
                " error_code, done_at, raw, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(r.carrier, r.carrier_message_id, r.carrier_state, r.error_code, r.done_at,
                  r.raw, now) for r in receipts],
            )

    def settle_received(
        self, limit: int, settle: Callable[[list[DeliveryReceipt]], object]
    ) -> int:
        # The rows stay locked, and so skipped by every other dispatcher,
        # until they are deleted in the same transaction once settled.
        with self._pool.connection() as conn, conn.transaction():
            with conn.cursor(row_factory=kwargs_row(_numbered_receipt)) as cur:
                rows = cur.execute(
                    "SELECT id AS row_id, carrier, carrier_message_id, carrier_state, error_code,"
                    " done_at, raw FROM received_receipts ORDER BY id LIMIT %s"
                    " FOR UPDATE SKIP LOCKED",
                    (limit,),
                ).fetchall()
            if not rows:
                return 0
            settle([receipt for _, receipt in rows])
            conn.execute(
                "DELETE FROM received_receipts WHERE id = ANY(%s)",
                ([row_id for row_id, _ in rows],),
            )
        return len(rows)


def _numbered_receipt(*, row_id: int, **receipt: Any) -> tuple[int, DeliveryReceipt]:
    """A stored receipt's row id and the receipt, its fields taken by column name."""
    return int(row_id), DeliveryReceipt(**receipt)
