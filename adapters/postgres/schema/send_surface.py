"""Sender IDs, templates, notification preferences and sandbox resets."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        20,
        'sender IDs and whether an account may send from numbers',
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
        'message templates',
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
        'notification preferences',
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
        'sandbox resets, append-only',
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
)
