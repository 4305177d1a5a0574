"""The API app for one of several uvicorn worker processes.

With more than one worker uvicorn starts each process afresh and asks this
factory for its app, so every worker builds its own container (pools, caches)
from the environment. What must hold across workers, such as rate limits,
lives in PostgreSQL.
"""

from __future__ import annotations

from litestar import Litestar

from adapters.bootstrap.container import build
from adapters.cli.serve import tune_gc
from adapters.config.settings import ConfigError, Settings
from adapters.http.app import create_app


def create_worker_app() -> Litestar:
    settings = Settings.from_env()
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is required by API workers")
    container = build(settings, settings.database_url, settings.nats_url)
    app = create_app(container)
    app.on_shutdown.append(container.close)
    tune_gc()
    return app
