"""Users of accounts, in the `users` table beside `accounts`."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg_pool import ConnectionPool

from application.identity.errors import EmailTaken
from application.identity.ports import NewAccount, NewUser, User

_COLUMNS = "id, account_id, email, name, role, platform_admin, password_hash, created_at"


class PostgresUsers:
    """Implements UserStore."""

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def create_account_with_owner(self, account: NewAccount, owner: NewUser) -> User:
        account_id = str(uuid.uuid4())
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute(
                    "INSERT INTO accounts (id, name, currency, default_country, timezone)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (account_id, account.name, account.currency, account.default_country,
                     account.timezone),
                )
                row = conn.cursor(row_factory=class_row(User)).execute(
                    "INSERT INTO users (id, account_id, email, name, role, platform_admin,"
                    " password_hash, oidc_subject) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                    f" RETURNING {_COLUMNS}",
                    (owner.id, account_id, owner.email, owner.name, owner.role,
                     owner.platform_admin, owner.password_hash, owner.oidc_subject),
                ).fetchone()
        except psycopg.errors.UniqueViolation as error:
            raise EmailTaken("A user with this email exists already") from error
        assert row is not None
        return row

    def by_email(self, email: str) -> User | None:
        return self._one(f"SELECT {_COLUMNS} FROM users WHERE email = %s", (email,))

    def by_id(self, user_id: uuid.UUID) -> User | None:
        return self._one(f"SELECT {_COLUMNS} FROM users WHERE id = %s", (user_id,))

    def by_oidc_subject(self, subject: str) -> User | None:
        return self._one(f"SELECT {_COLUMNS} FROM users WHERE oidc_subject = %s", (subject,))

    def link_oidc_subject(self, user_id: uuid.UUID, subject: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE users SET oidc_subject = %s WHERE id = %s AND oidc_subject IS NULL",
                (subject, user_id),
            )

    def set_password(self, user_id: uuid.UUID, password_hash: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "UPDATE users SET password_hash = %s WHERE id = %s", (password_hash, user_id)
            )

    def _one(self, query: str, params: Any) -> User | None:
        with self._pool.connection() as conn, conn.cursor(row_factory=class_row(User)) as cur:
            return cur.execute(query.encode(), params).fetchone()
