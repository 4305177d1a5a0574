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
    ),    (
        30,
        "webhook endpoints, events kept for replay, deliveries and their attempts",
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
    (
        10,
        "users, sessions with rotating refresh tokens, password resets, account settings",
        """
        ALTER TABLE accounts
            ADD COLUMN timezone text NOT NULL DEFAULT 'UTC'
                CHECK (length(timezone) BETWEEN 1 AND 64),
            ADD COLUMN trusted boolean NOT NULL DEFAULT false;
        CREATE TABLE users (
            id uuid PRIMARY KEY,
            account_id text NOT NULL REFERENCES accounts (id),
            email text NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
            name text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
            role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
            platform_admin boolean NOT NULL DEFAULT false,
            password_hash text,
            oidc_subject text UNIQUE,
            failed_logins integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
            locked_until timestamptz,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE UNIQUE INDEX users_email_idx ON users (email);
        CREATE INDEX users_account_idx ON users (account_id);
        CREATE TABLE user_sessions (
            id uuid PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users (id),
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz,
            revoked_reason text
        );
        CREATE INDEX user_sessions_user_idx ON user_sessions (user_id);
        CREATE TABLE refresh_tokens (
            token_sha256 bytea PRIMARY KEY,
            session_id uuid NOT NULL REFERENCES user_sessions (id),
            issued_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            rotated_at timestamptz
        );
        CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
        CREATE TABLE password_resets (
            token_sha256 bytea PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES users (id),
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            used_at timestamptz
        );
        CREATE INDEX password_resets_user_idx ON password_resets (user_id);
        CREATE TABLE oidc_logins (
            state text PRIMARY KEY,
            nonce text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            used_at timestamptz
        );
        """,
    ),
    (
        11,
        "outbound mail written by the default mail adapter",
        """
        CREATE TABLE outbound_mail (
            id bigserial PRIMARY KEY,
            recipient text NOT NULL,
            subject text NOT NULL,
            body text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX outbound_mail_recipient_idx ON outbound_mail (recipient, id DESC);
        """,
    ),
    (
        20,
        "sender IDs and whether an account may send from numbers",
        """
        ALTER TABLE accounts ADD COLUMN allow_numeric_senders boolean NOT NULL DEFAULT false;
        CREATE TABLE sender_ids (
            id uuid PRIMARY KEY,
            account_id text NOT NULL REFERENCES accounts (id),
            sender_id text NOT NULL CHECK (length(sender_id) BETWEEN 1 AND 16),
            kind text NOT NULL CHECK (kind IN ('alphanumeric', 'numeric')),
            status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
            purpose text NOT NULL DEFAULT '',
            rejection_reason text,
            decided_by uuid,
            created_at timestamptz NOT NULL,
            decided_at timestamptz
        );
        -- A rejected request may be made again; a pending or approved one not.
        CREATE UNIQUE INDEX sender_ids_account_sender_idx
            ON sender_ids (account_id, sender_id) WHERE status <> 'rejected';
        CREATE INDEX sender_ids_account_idx ON sender_ids (account_id, created_at DESC, id DESC);
        """,
    ),
    (
        21,
        "message templates",
        """
        CREATE TABLE templates (
            id uuid PRIMARY KEY,
            account_id text NOT NULL REFERENCES accounts (id),
            name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
            content text NOT NULL,
            variables text[] NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            UNIQUE (account_id, name)
        );
        CREATE INDEX templates_account_idx ON templates (account_id, created_at DESC, id DESC);
        """,
    ),
    (
        22,
        "notification preferences",
        """
        CREATE TABLE notification_settings (
            account_id text PRIMARY KEY REFERENCES accounts (id),
            low_balance_email boolean NOT NULL,
            delivery_failure_email boolean NOT NULL,
            webhook_failure_email boolean NOT NULL,
            campaign_completed_email boolean NOT NULL,
            weekly_usage_email boolean NOT NULL,
            recipients text[] NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        """,
    ),
    (
        23,
        "sandbox resets, append-only",
        """
        CREATE TABLE sandbox_resets (
            id bigserial PRIMARY KEY,
            account_id text NOT NULL,
            reset_at timestamptz NOT NULL,
            refilled_to_micros bigint NOT NULL
        );
        CREATE INDEX sandbox_resets_account_idx ON sandbox_resets (account_id, id DESC);
        """,
    ),
    (
        60,
        "per-account rate limits, OAuth access tokens, shared rate buckets",
        """
        ALTER TABLE accounts ADD COLUMN rate_limit_per_s integer
            CHECK (rate_limit_per_s BETWEEN 1 AND 1000000);
        CREATE INDEX api_keys_active_idx ON api_keys (account_id) WHERE revoked_at IS NULL;
        CREATE TABLE oauth_access_tokens (
            token_sha256 bytea PRIMARY KEY,
            key_id uuid NOT NULL REFERENCES api_keys (id),
            expires_at timestamptz NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX oauth_access_tokens_key_idx ON oauth_access_tokens (key_id, expires_at);
        CREATE UNLOGGED TABLE rate_buckets (
            key_id uuid PRIMARY KEY,
            tokens float8 NOT NULL,
            last_taken integer NOT NULL,
            refilled_at timestamptz NOT NULL
        );
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
    (
        50,
        "contacts, groups, tags and imports; trusted accounts",
        """
        ALTER TABLE accounts ADD COLUMN IF NOT EXISTS trusted boolean NOT NULL DEFAULT false;
        CREATE TABLE contacts (
            id uuid PRIMARY KEY,
            account_id text NOT NULL,
            phone text NOT NULL,
            first_name text,
            last_name text,
            email text,
            reference text,
            custom_fields jsonb NOT NULL DEFAULT '{}',
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            deleted_at timestamptz,
            -- The import that last wrote the contact: a number met again later
            -- in the same file is a duplicate, whichever chunk it falls in.
            last_import_id uuid
        );
        -- A phone is unique among an account's live contacts; a deleted
        -- contact keeps its row (soft delete) and frees the number.
        CREATE UNIQUE INDEX contacts_account_phone_idx
            ON contacts (account_id, phone) WHERE deleted_at IS NULL;
        CREATE INDEX contacts_account_page_idx
            ON contacts (account_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
        CREATE TABLE contact_groups (
            id uuid PRIMARY KEY,
            account_id text NOT NULL,
            name text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (account_id, name)
        );
        CREATE TABLE contact_group_members (
            group_id uuid NOT NULL REFERENCES contact_groups (id) ON DELETE CASCADE,
            contact_id uuid NOT NULL REFERENCES contacts (id),
            added_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (group_id, contact_id)
        );
        CREATE INDEX contact_group_members_contact_idx ON contact_group_members (contact_id);
        CREATE TABLE contact_tags (
            id uuid PRIMARY KEY,
            account_id text NOT NULL,
            name text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (account_id, name)
        );
        CREATE TABLE contact_tag_links (
            tag_id uuid NOT NULL REFERENCES contact_tags (id) ON DELETE CASCADE,
            contact_id uuid NOT NULL REFERENCES contacts (id),
            PRIMARY KEY (tag_id, contact_id)
        );
        CREATE INDEX contact_tag_links_contact_idx ON contact_tag_links (contact_id);
        CREATE TABLE contact_imports (
            id uuid PRIMARY KEY,
            account_id text NOT NULL,
            group_id uuid,
            format text NOT NULL CHECK (format IN ('csv', 'json')),
            status text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
            total bigint NOT NULL DEFAULT 0,
            imported bigint NOT NULL DEFAULT 0,
            created bigint NOT NULL DEFAULT 0,
            updated bigint NOT NULL DEFAULT 0,
            skipped bigint NOT NULL DEFAULT 0,
            invalid bigint NOT NULL DEFAULT 0,
            errors jsonb NOT NULL DEFAULT '[]',
            failure text,
            started_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        );
        CREATE INDEX contact_imports_account_idx ON contact_imports (account_id, started_at DESC);
        """,
    ),
    (
        51,
        "campaign recipient lists and the executor's work queue",
        """
        CREATE TABLE campaign_recipients (
            campaign_id uuid NOT NULL,
            seq bigint NOT NULL CHECK (seq > 0),
            phone text NOT NULL,
            variables jsonb NOT NULL DEFAULT '{}',
            contact_id uuid,
            PRIMARY KEY (campaign_id, seq)
        );
        CREATE UNIQUE INDEX campaign_recipients_phone_idx
            ON campaign_recipients (campaign_id, phone);
        -- Campaigns the executor has work for. The campaign's events are the
        -- truth; a row here only says where to look, and a stale one costs
        -- one load.
        CREATE TABLE campaign_runs (
            campaign_id uuid PRIMARY KEY,
            account_id text NOT NULL,
            due_at timestamptz NOT NULL,
            claimed_until timestamptz,
            owner text,
            swept_seq bigint NOT NULL DEFAULT 0
        );
        CREATE INDEX campaign_runs_due_idx ON campaign_runs (due_at);
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
        for version, description, sql in sorted(MIGRATIONS):  # by number, whatever the order here
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
