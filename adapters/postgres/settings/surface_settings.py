"""Notification preferences and sandbox reset markers, in PostgreSQL."""

from __future__ import annotations

from datetime import datetime

from psycopg.rows import kwargs_row
from psycopg_pool import ConnectionPool

from application.settings.notifications import NotificationSettings

_FLAGS = ("low_balance_email", "delivery_failure_email", "webhook_failure_email",
          "campaign_completed_email", "weekly_usage_email")


def _notification_settings(*, recipients: list[str], **flags: bool) -> NotificationSettings:
    """The settings from their columns, by name (a text[] comes back as a list)."""
    return NotificationSettings(**flags, recipients=tuple(recipients))


class PostgresNotificationSettings:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def get(self, account_id: str) -> NotificationSettings | None:
        with self._pool.connection() as conn, conn.cursor(
            row_factory=kwargs_row(_notification_settings)
        ) as cur:
            return cur.execute(
                f"SELECT {', '.join(_FLAGS)}, recipients FROM notification_settings"
                " WHERE account_id = %s",
                (account_id,),
            ).fetchone()

    def put(self, account_id: str, settings: NotificationSettings) -> None:
        values = [getattr(settings, name) for name in _FLAGS]
        updates = ", ".join(f"{name} = excluded.{name}" for name in (*_FLAGS, "recipients"))
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO notification_settings (account_id, {', '.join(_FLAGS)}, recipients)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                f" ON CONFLICT (account_id) DO UPDATE SET {updates}, updated_at = now()",
                (account_id, *values, list(settings.recipients)),
            )


class PostgresSandboxResets:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def record(self, account_id: str, reset_at: datetime, refilled_to_micros: int) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO sandbox_resets (account_id, reset_at, refilled_to_micros)"
                " VALUES (%s, %s, %s)",
                (account_id, reset_at, refilled_to_micros),
            )

    def last_reset(self, account_id: str) -> datetime | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT reset_at FROM sandbox_resets WHERE account_id = %s"
                " ORDER BY id DESC LIMIT 1",
                (account_id,),
            ).fetchone()
        return None if row is None else row[0]
