"""What every process role builds first: the PostgreSQL and NATS it talks to
(from the environment, or embedded ones `up` starts under the data directory
when DATABASE_URL / NATS_URL are unset; the other commands then use the
instance `up` runs), the schema, the event store's ledger application and
the pool of the configuration tables."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool

from adapters.config.settings import ConfigError, Settings, eventsourcing_env
from adapters.identity.jwt_tokens import KEY_FILE_NAME
from adapters.postgres.migrations import migrate
from adapters.postgres.pools import FailFastPool
from adapters.projector.versions import ProgressFor, Upgraded, upgrade
from adapters.runtime import instance
from adapters.runtime.embedded import EmbeddedNats, EmbeddedPostgres
from application.ledger.app import LedgerApplication
from projections.registry import ALL_PROJECTIONS

CONFIG_POOL_SIZE = 4


@dataclass(frozen=True, slots=True)
class Services:
    database_url: str
    nats_url: str | None


@contextlib.contextmanager
def running_services(settings: Settings, *, need_nats: bool) -> Iterator[Services]:
    """Yield URLs of running servers; stop on exit whatever we started.

    Only `up` reaches here without a DATABASE_URL: every other command is
    given the running instance's first (on_running_instance)."""
    with contextlib.ExitStack() as stack:
        database_url = settings.database_url
        if database_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            postgres = stack.enter_context(EmbeddedPostgres(settings.data_dir))
            database_url = postgres.dsn
        nats_url = settings.nats_url
        if nats_url is None and need_nats:
            nats = stack.enter_context(EmbeddedNats(settings.data_dir))
            nats_url = nats.url
        yield Services(database_url=database_url, nats_url=nats_url)


def on_running_instance(settings: Settings, *, named: bool) -> Settings:
    """Settings of a command that works on the product's data: without a
    DATABASE_URL, the database, data directory and address of the running
    `up` (the one on the data directory the user `named`, if any); an error
    that says what to do when there is none.

    The JWT signing key kept in that data directory is used too, so the
    command neither warns that none is configured nor signs with another."""
    if settings.database_url is None:
        record = instance.locate(settings.data_dir if named else None, settings.data_dir)
        if record.database_url is None:
            raise ConfigError(
                f"the smsledger up on {record.data_dir} uses the DATABASE_URL of its "
                "environment: set DATABASE_URL for this command too"
            )
        settings = replace(
            settings, database_url=record.database_url, data_dir=Path(record.data_dir),
            # Where that instance's clients reach its API, as it recorded it.
            public_url=settings.public_url or record.api_url,
        )
    return with_key_of_data_dir(settings)


def with_key_of_data_dir(settings: Settings) -> Settings:
    identity = settings.identity
    key_file = settings.data_dir / KEY_FILE_NAME
    configured = identity.jwt_private_key_pem or identity.jwt_private_key_file
    if configured or not key_file.is_file():
        return settings
    return replace(settings, identity=replace(identity, jwt_private_key_file=key_file))


def migrate_database(database_url: str) -> list[int]:
    """Create the event store tables and apply our migrations; idempotent."""
    env = eventsourcing_env(database_url, pool_size=1)
    env["CREATE_TABLE"] = "yes"
    LedgerApplication(env).close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        return migrate(conn)


def upgrade_projections(
    database_url: str, progress_for: ProgressFor | None = None
) -> list[Upgraded]:
    """Rebuild the read models whose projection's schema version changed;
    after `migrate_database`, which creates their tables."""
    app = LedgerApplication(eventsourcing_env(database_url, pool_size=1))
    # A rebuild uses three connections at once: its writes, its read-ahead
    # and a second index build.
    pool: ConnectionPool = ConnectionPool(
        database_url, min_size=1, max_size=3, kwargs={"autocommit": True}, open=True,
        name="smsledger-migrate",
    )
    try:
        return upgrade(ALL_PROJECTIONS, pool, app.recorder, app.mapper, progress_for)
    finally:
        pool.close()
        app.close()


def open_ledger(settings: Settings, database_url: str) -> LedgerApplication:
    """The event store and the aggregates on it (the library opens its own pool)."""
    return LedgerApplication(
        eventsourcing_env(database_url, pool_size=settings.db_pool_size),
        wallet_cache_size=settings.wallet_cache_size,
        group_commit_max=settings.group_commit_max,
    )


def open_config_pool(settings: Settings, database_url: str) -> ConnectionPool:
    """The pool of everything that is not the event store: configuration
    tables, read models, claims."""
    return FailFastPool(
        database_url,
        min_size=1,
        max_size=max(CONFIG_POOL_SIZE, settings.db_pool_size),
        kwargs={"autocommit": True},
        open=True,
        name="smsledger-config",
    )
