"""Delivery's own tables: receipts received over HTTP waiting for a
dispatcher, and the reply routes that send a reply to the account that
last had a live message sent to its number."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        70,
        'delivery receipts received over HTTP, waiting for the dispatcher',
        """
        CREATE TABLE received_receipts (
            id bigserial PRIMARY KEY,
            carrier text NOT NULL,
            carrier_message_id text NOT NULL,
            carrier_state text NOT NULL,
            error_code text NOT NULL,
            done_at timestamptz,
            raw text NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now()
        );
        """,
    ),
    (
        71,
        'reply routes: the account that last had a live message sent to each number',
        """
        CREATE TABLE reply_routes (
            destination text PRIMARY KEY,
            account_id text NOT NULL,
            noted_at timestamptz NOT NULL DEFAULT now()
        );
        -- Until now replies were routed by the message log; start from it
        -- where it exists (a new database has no messages yet).
        DO $$
        BEGIN
            IF to_regclass('rm_message_log') IS NOT NULL THEN
                INSERT INTO reply_routes (destination, account_id, noted_at)
                SELECT DISTINCT ON (destination) destination, account_id, accepted_at
                FROM rm_message_log WHERE NOT sandbox
                ORDER BY destination, accepted_at DESC;
            END IF;
        END $$;
        """,
    ),
)
