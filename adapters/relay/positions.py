"""Where a worker has got to, stored in PostgreSQL."""

from __future__ import annotations

from psycopg_pool import ConnectionPool


class RelayPositions:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def load(self, name: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT position FROM relay_positions WHERE name = %s", (name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def save(self, name: str, position: int) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO relay_positions (name, position) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position,"
                " updated_at = now()"
                " WHERE relay_positions.position < EXCLUDED.position",
                (name, position),
            )
