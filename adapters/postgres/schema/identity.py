"""Users, sessions, failed logins and the mail the default adapter keeps."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        10,
        'users, sessions with rotating refresh tokens, password resets, account settings',
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
        'outbound mail written by the default mail adapter',
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
        12,
        'failed logins counted per (email, client address) instead of per user',
        """
        CREATE TABLE login_failures (
            email text NOT NULL CHECK (length(email) <= 254),
            client_address text NOT NULL CHECK (length(client_address) <= 64),
            failures integer NOT NULL CHECK (failures >= 0),
            locked_until timestamptz,
            forget_at timestamptz NOT NULL,
            PRIMARY KEY (email, client_address)
        );
        CREATE INDEX login_failures_forget_idx ON login_failures (forget_at);
        ALTER TABLE users DROP COLUMN failed_logins, DROP COLUMN locked_until;
        """,
    ),
)
