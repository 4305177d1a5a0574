"""Webhook endpoints, the events kept for replay and their deliveries."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        30,
        'webhook endpoints, events kept for replay, deliveries and their attempts',
        """
        CREATE TABLE webhook_endpoints (
            id uuid PRIMARY KEY,
            account_id text NOT NULL REFERENCES accounts (id),
            url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
            events text[] NOT NULL,
            description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
            active boolean NOT NULL DEFAULT true,
            secret text NOT NULL,
            previous_secret text,
            previous_secret_until timestamptz,
            failing_since timestamptz,
            disabled_reason text NOT NULL DEFAULT '',
            disabled_at timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX webhook_endpoints_account_idx
            ON webhook_endpoints (account_id, created_at, id);
        CREATE TABLE webhook_messages (
            message_id uuid PRIMARY KEY,
            account_id text NOT NULL,
            destination text NOT NULL,
            client_ref text,
            campaign_id uuid,
            callback_url text,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE webhook_events (
            seq bigserial PRIMARY KEY,
            id uuid NOT NULL UNIQUE,
            envelope_id bigint UNIQUE,
            account_id text NOT NULL,
            type text NOT NULL,
            subject uuid,
            callback_url text,
            occurred_at timestamptz NOT NULL,
            body bytea NOT NULL
        );
        CREATE INDEX webhook_events_account_seq_idx ON webhook_events (account_id, seq);
        CREATE INDEX webhook_events_account_time_idx
            ON webhook_events (account_id, occurred_at, seq);
        CREATE TABLE webhook_deliveries (
            id bigserial PRIMARY KEY,
            event_seq bigint NOT NULL REFERENCES webhook_events (seq) ON DELETE CASCADE,
            account_id text NOT NULL,
            endpoint_id uuid REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
            kind text NOT NULL CHECK (kind IN ('event', 'callback', 'replay', 'test')),
            url text NOT NULL,
            target text NOT NULL,
            subject uuid,
            status text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'succeeded', 'failed')),
            attempts integer NOT NULL DEFAULT 0,
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            lease_until timestamptz,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id)
            WHERE status IN ('pending', 'sending');
        CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (target, subject, id)
            WHERE status IN ('pending', 'sending');
        CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
        CREATE TABLE webhook_attempts (
            id bigserial PRIMARY KEY,
            delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
            endpoint_id uuid,
            attempt integer NOT NULL,
            status_code integer,
            latency_ms integer NOT NULL,
            error text NOT NULL DEFAULT '',
            attempted_at timestamptz NOT NULL,
            next_attempt_at timestamptz
        );
        CREATE INDEX webhook_attempts_endpoint_idx ON webhook_attempts (endpoint_id, id);
        CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id);
        CREATE TABLE webhook_notices (
            id bigserial PRIMARY KEY,
            account_id text NOT NULL,
            endpoint_id uuid NOT NULL,
            kind text NOT NULL,
            detail text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX webhook_notices_account_idx ON webhook_notices (account_id, id);
        """,
    ),
)
