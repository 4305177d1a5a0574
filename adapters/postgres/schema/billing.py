"""Card payments, notifications, policy positions and invoices."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        40,
        'billing: processor customers, payments, notifications, policy positions',
        """
        CREATE TABLE billing_customers (
            account_id text PRIMARY KEY,
            customer_ref text NOT NULL UNIQUE,
            payment_method_ref text,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE billing_payments (
            payment_ref text PRIMARY KEY,
            account_id text NOT NULL,
            session_ref text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE billing_notifications (
            event_ref text PRIMARY KEY,
            type text NOT NULL,
            object_ref text NOT NULL,
            outcome text NOT NULL,
            deliveries integer NOT NULL DEFAULT 1,
            last_outcome text,
            received_at timestamptz NOT NULL DEFAULT now(),
            last_received_at timestamptz
        );
        CREATE INDEX billing_notifications_object_idx ON billing_notifications (object_ref);
        CREATE TABLE policy_positions (
            name text PRIMARY KEY,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """,
    ),
    (
        41,
        'monthly invoices closed from the ledger',
        """
        CREATE TABLE invoices (
            id uuid PRIMARY KEY,
            account_id text NOT NULL,
            month text NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
            currency char(3) NOT NULL,
            period_start timestamptz NOT NULL,
            period_end timestamptz NOT NULL,
            opening_micros bigint NOT NULL,
            purchases_micros bigint NOT NULL,
            refunds_micros bigint NOT NULL,
            adjustments_micros bigint NOT NULL,
            usage_micros bigint NOT NULL,
            closing_micros bigint NOT NULL,
            entry_hash text NOT NULL,
            closed_at timestamptz NOT NULL,
            lines jsonb NOT NULL,
            usage_by_country jsonb NOT NULL,
            UNIQUE (account_id, month)
        );
        """,
    ),
)
