"""Billing's own tables: processor customers and saved payment methods, which
account each payment belongs to, every notification received, and the
positions of the policies that read the event log."""

from __future__ import annotations

from psycopg.rows import class_row
from psycopg_pool import ConnectionPool

from application.billing.ports import BillingCustomer

MAX_OUTCOME_LENGTH = 200


class PostgresBillingStore:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def customer(self, account_id: str) -> BillingCustomer | None:
        with (
            self._pool.connection() as conn,
            conn.cursor(row_factory=class_row(BillingCustomer)) as cur,
        ):
            return cur.execute(
                "SELECT account_id, customer_ref, payment_method_ref FROM billing_customers"
                " WHERE account_id = %s",
                (account_id,),
            ).fetchone()

    def save_customer(self, account_id: str, customer_ref: str) -> BillingCustomer:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO billing_customers (account_id, customer_ref) VALUES (%s, %s)"
                " ON CONFLICT (account_id) DO NOTHING",
                (account_id, customer_ref),
            )
        saved = self.customer(account_id)
        assert saved is not None
        return saved

    def save_payment_method(self, account_id: str, payment_method_ref: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE billing_customers SET payment_method_ref = %s, updated_at = now()"
                " WHERE account_id = %s",
                (payment_method_ref, account_id),
            )

    def remember_payment(self, payment_ref: str, account_id: str, session_ref: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO billing_payments (payment_ref, account_id, session_ref)"
                " VALUES (%s, %s, %s) ON CONFLICT (payment_ref) DO NOTHING",
                (payment_ref, account_id, session_ref),
            )

    def account_of_payment(self, payment_ref: str) -> str | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT account_id FROM billing_payments WHERE payment_ref = %s", (payment_ref,)
            ).fetchone()
        return None if row is None else str(row[0])

    def record_notification(
        self, event_ref: str, event_type: str, object_ref: str, outcome: str
    ) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO billing_notifications (event_ref, type, object_ref, outcome)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (event_ref) DO UPDATE"
                " SET deliveries = billing_notifications.deliveries + 1,"
                " last_outcome = EXCLUDED.outcome, last_received_at = now()",
                (event_ref, event_type, object_ref, outcome[:MAX_OUTCOME_LENGTH]),
            )


class PostgresPolicyPositions:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def get(self, name: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT position FROM policy_positions WHERE name = %s", (name,)
            ).fetchone()
        return 0 if row is None else int(row[0])

    def set(self, name: str, position: int) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO policy_positions (name, position) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position,"
                " updated_at = now()",
                (name, position),
            )
