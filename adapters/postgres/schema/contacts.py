"""Contacts, groups, tags, imports and campaign recipient lists."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        50,
        'contacts, groups, tags and imports; trusted accounts',
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
