"""The accounts, the relay's and projections' positions and versions, dispatch
and idempotency."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        'accounts and API keys',
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
        'relay and projection positions, dead letters',
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
        'routes, dispatch claims, awaited and parked receipts',
        r"""
        CREATE TABLE routes (
            name text PRIMARY KEY,
            prefix text NOT NULL CHECK (prefix ~ '^\+[0-9]*$'),
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
        'opt-outs, append-only',
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
        'a shared secret per route for HTTP carrier callbacks',
        """
        ALTER TABLE routes ADD COLUMN callback_secret_sha256 bytea;
        """,
    ),
    (
        6,
        'idempotency keys with the response they produced',
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
        7,
        'idempotency keys keep the checks their request passed',
        """
        ALTER TABLE idempotency_keys
            ADD COLUMN required_permissions text[] NOT NULL DEFAULT '{}',
            ADD COLUMN requires_platform_admin boolean NOT NULL DEFAULT false;
        """,
    ),
    (
        8,
        'the schema version of the projection that wrote each read model',
        # Rows already there were written by each projection's version 1,
        # the one every projection declared when versions began. NULL means
        # no complete build: a rebuild under way or one that failed.
        """
        ALTER TABLE projection_positions ADD COLUMN schema_version integer DEFAULT 1;
        """,
    ),
)
