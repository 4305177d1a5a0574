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
        50,
        "contacts, groups, tags and imports; trusted accounts",
        """
        ALTER TABLE accounts ADD COLUMN trusted boolean NOT NULL DEFAULT false;
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
