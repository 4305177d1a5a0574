"""Servers and throwaway databases for pytest fixtures.

A DATABASE_URL / NATS_URL in the environment (CI, compose) wins; without one
the embedded servers are started under a caller-chosen temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import secrets
from collections.abc import Callable, Iterator

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from adapters.runtime.embedded import EmbeddedNats, EmbeddedPostgres

_CONNECT_TIMEOUT_S = 10
# Lowercase so the name needs no quoting in psql; 63 bytes is PostgreSQL's
# identifier limit (longer names are silently truncated).
_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_PG_FORCE_DROP_VERSION = 130000


def _no_cleanup() -> None:
    return None


def new_run_id() -> str:
    """8 random lowercase hex chars: valid in database and JetStream stream names."""
    return secrets.token_hex(4)


def postgres_server_dsn(tmp_root: pathlib.Path) -> tuple[str, Callable[[], None]]:
    """DATABASE_URL if set, else the DSN of an embedded server under `tmp_root`.

    Returns the DSN and a cleanup function (stops the embedded server, if any).
    """
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured, _no_cleanup
    server = EmbeddedPostgres(tmp_root)
    return server.start(), server.stop


def nats_server_url(tmp_root: pathlib.Path) -> tuple[str, Callable[[], None]]:
    """NATS_URL if set, else the URL of an embedded JetStream under `tmp_root`.

    Returns the URL and a cleanup function (stops the embedded server, if any).
    """
    configured = os.environ.get("NATS_URL")
    if configured:
        return configured, _no_cleanup
    server = EmbeddedNats(tmp_root)
    return server.start(), server.stop


def database_dsn(server_dsn: str, name: str) -> str:
    """`server_dsn` with its database replaced by `name` (works for socket URIs too)."""
    params = conninfo_to_dict(server_dsn)
    params["dbname"] = name
    return make_conninfo("", **params)


def create_database(server_dsn: str, name: str) -> str:
    """Create database `name` on the server of `server_dsn` and return a DSN to it."""
    _check_name(name)
    with psycopg.connect(
        server_dsn, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S
    ) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_dsn(server_dsn, name)


def drop_database(server_dsn: str, name: str) -> None:
    """Drop database `name` if it exists, disconnecting whoever is still connected."""
    _check_name(name)
    if conninfo_to_dict(server_dsn).get("dbname") == name:
        raise ValueError(f"cannot drop {name!r} through a connection to itself")
    with psycopg.connect(
        server_dsn, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S
    ) as conn:
        # Leaked pools from a failed test would otherwise make DROP fail.
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        # FORCE also covers connections opened between terminate and drop.
        force = conn.info.server_version >= _PG_FORCE_DROP_VERSION
        statement = (
            "DROP DATABASE IF EXISTS {} WITH (FORCE)"
            if force
            else "DROP DATABASE IF EXISTS {}"
        )
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


def _check_name(name: str) -> None:
    if not _DATABASE_NAME.fullmatch(name):
        raise ValueError(f"database name {name!r} must match {_DATABASE_NAME.pattern}")


@contextlib.contextmanager
def migrated_database(server_dsn: str, name: str) -> Iterator[str]:
    """A fresh database `name` with the product's schema, dropped afterwards."""
    from adapters.bootstrap.infrastructure import migrate_database

    url = create_database(server_dsn, name)
    try:
        migrate_database(url)
        yield url
    finally:
        drop_database(server_dsn, name)
