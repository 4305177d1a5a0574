"""Per-account rate limits, OAuth access tokens and shared rate buckets (per key,
and per client address)."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        60,
        'per-account rate limits, OAuth access tokens, shared rate buckets',
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
        61,
        'rate buckets say when they are full again, so that idle ones can be pruned',
        """
        ALTER TABLE rate_buckets ADD COLUMN full_at timestamptz NOT NULL DEFAULT '-infinity';
        """,
    ),
)
