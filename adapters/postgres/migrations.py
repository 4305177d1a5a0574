"""Schema for the configuration tables that live beside the event store.

Migrations are numbered and applied in order, each in its own transaction,
under an advisory lock so that two processes starting at once do not race.
Running them again is a no-op. The event store's own tables are created by
the library's recorder, in the same run, and each read model's tables by its
projection.
"""

from __future__ import annotations

import logging

import psycopg

from projections.registry import ALL_PROJECTIONS

log = logging.getLogger(__name__)

# An arbitrary constant that names our migration lock in pg_advisory_lock.
MIGRATION_LOCK_KEY = 0x5E5_1ED6E5

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "accounts and API keys",
        """
        CREATE TABLE accounts (
            id text PRIMARY KEY,
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            currency char(3) NOT NULL,
            default_country char(2),
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE api_keys (
            id uuid PRIMARY KEY,
            account_id text NOT NULL REFERENCES accounts (id),
            key text NOT NULL UNIQUE,
            secret_sha256 bytea NOT NULL,
            sandbox boolean NOT NULL,
            name text NOT NULL DEFAULT '',
            permissions text[] NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            revoked_at timestamptz
        );
        CREATE INDEX api_keys_account_idx ON api_keys (account_id);
        CREATE TABLE rate_overrides (
            account_id text NOT NULL REFERENCES accounts (id),
            country char(2) NOT NULL,
            price_micros bigint NOT NULL CHECK (price_micros >= 0),
            PRIMARY KEY (account_id, country)
        );
        """,
    ),
    (
        2,
        "relay and projection positions, dead letters",
        """
        CREATE TABLE relay_positions (
            name text PRIMARY KEY,
            position bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE projection_positions (
            name text PRIMARY KEY,
            position bigint NOT NULL,
            last_event_at timestamptz,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE projection_dead_letters (
            projection text NOT NULL,
            envelope_id bigint NOT NULL,
            type text NOT NULL,
            payload bytea NOT NULL,
            error text NOT NULL,
            deliveries integer NOT NULL,
            parked_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (projection, envelope_id)
        );
        """,
    ),
    (
        3,
        "routes, dispatch claims, awaited and parked receipts",
        """
        CREATE TABLE routes (
            name text PRIMARY KEY,
            prefix text NOT NULL CHECK (prefix ~ '^\\+[0-9]*$'),
            carrier text NOT NULL,
            messages_per_second double precision NOT NULL
                CHECK (messages_per_second > 0 AND messages_per_second <= 100000),
            receipt_policy text NOT NULL CHECK (receipt_policy IN ('receipts', 'none')),
            grace_minutes integer NOT NULL DEFAULT 60 CHECK (grace_minutes >= 0),
            capture_on_silence boolean NOT NULL DEFAULT false,
            active boolean NOT NULL DEFAULT true
        );
        INSERT INTO routes (name, prefix, carrier, messages_per_second, receipt_policy)
            VALUES ('default', '+', 'simulated', 500, 'receipts');
        CREATE TABLE dispatch_claims (
            message_id uuid PRIMARY KEY,
            owner text NOT NULL,
            claimed_until timestamptz NOT NULL
        );
        CREATE TABLE awaited_receipts (
            message_id uuid PRIMARY KEY,
            carrier text NOT NULL,
            carrier_message_id text NOT NULL,
            settle_after timestamptz NOT NULL,
            capture_on_silence boolean NOT NULL
        );
        CREATE UNIQUE INDEX awaited_receipts_carrier_idx
            ON awaited_receipts (carrier, carrier_message_id);
        CREATE INDEX awaited_receipts_due_idx ON awaited_receipts (settle_after);
        CREATE TABLE parked_receipts (
            id bigserial PRIMARY KEY,
            carrier text NOT NULL,
            carrier_message_id text NOT NULL,
            carrier_state text NOT NULL,
            error_code text NOT NULL,
            done_at timestamptz,
            raw text NOT NULL,
            parked_at timestamptz NOT NULL
        );
        """,
    ),
    (
        4,
        "opt-outs, append-only",
        """
        CREATE TABLE opt_outs (
            id bigserial PRIMARY KEY,
            account_id text NOT NULL,
            phone text NOT NULL,
            action text NOT NULL CHECK (action IN ('opt_out', 'opt_in')),
            source text NOT NULL,
            keyword text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX opt_outs_account_phone_idx ON opt_outs (account_id, phone, id DESC);
        CREATE FUNCTION opt_outs_append_only() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            RAISE EXCEPTION 'opt_outs is append-only';
        END $body$;
        CREATE TRIGGER opt_outs_no_rewrite BEFORE UPDATE OR DELETE ON opt_outs
            FOR EACH ROW EXECUTE FUNCTION opt_outs_append_only();
        """,
    ),
    (
        5,
        "a shared secret per route for HTTP carrier callbacks",
        """
        ALTER TABLE routes ADD COLUMN callback_secret_sha256 bytea;
        """,
    ),
    (
        6,
        "idempotency keys with the response they produced",
        """
        CREATE TABLE idempotency_keys (
            account_id text NOT NULL,
            key text NOT NULL,
            request_sha256 bytea NOT NULL,
            status_code integer,
            content_type text,
            response_body bytea,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (account_id, key)
        );
        CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
        """,
    ),
    (
        40,
        "billing: processor customers, payments, notifications, policy positions",
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
        "monthly invoices closed from the ledger",
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


def migrate(conn: psycopg.Connection[object]) -> list[int]:
    """Apply pending migrations; returns the versions applied now."""
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY,"
            " description text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
        done = {int(row[0]) for row in rows}  # type: ignore[index]
        for version, description, sql in MIGRATIONS:
            if version in done:
                continue
            log.info("applying migration %s: %s", version, description)
            conn.execute(sql.encode())
            conn.execute(
                "INSERT INTO schema_migrations (version, description) VALUES (%s, %s)",
                (version, description),
            )
            applied_now.append(version)
        # Read models declare their own tables, idempotently; a rebuild fills them.
        for projection in ALL_PROJECTIONS:
            conn.execute(projection.ddl().encode())
    return applied_now
