"""Finding PostgreSQL and NATS: from the environment, or embedded ones
started under the data directory when DATABASE_URL / NATS_URL are unset."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from adapters.config import Settings
from adapters.runtime.embedded import EmbeddedNats, EmbeddedPostgres


@dataclass(frozen=True, slots=True)
class Services:
    database_url: str
    nats_url: str | None


@contextlib.contextmanager
def running_services(settings: Settings, *, need_nats: bool) -> Iterator[Services]:
    """Yield URLs of running servers; stop on exit whatever we started."""
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
