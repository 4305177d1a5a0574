"""The API process role: its container and Litestar app, the process's tuning
(the collector, the handlers' threads), and serving it with uvicorn, in this
process or in several worker processes on one socket, printing where it
listens."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import uvicorn
from litestar import Litestar
from litestar.concurrency import set_asyncio_executor
from uvicorn.supervisors import Multiprocess

from adapters.bootstrap.container import Container, build
from adapters.config.settings import ROLES_STATUS_FILE_ENV, ConfigError, Settings
from adapters.http.app import create_app
from adapters.identity.jwt_tokens import with_key_in_data_dir
from adapters.runtime.supervisor import Supervisor

# What uvicorn's worker processes call for their app (create_worker_app).
WORKER_APP_FACTORY = "adapters.bootstrap.api:create_worker_app"

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _AnnouncingServer(uvicorn.Server):
    """Prints where it listens, and returns on SIGINT/SIGTERM instead of
    re-raising the signal (uvicorn's default), so that the caller can stop
    the embedded servers and close pools after the API has drained."""

    def run(self, sockets: Any = None) -> None:
        self._captured_signals: list[int] = []
        super().run(sockets=sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            for server in self.servers:
                for sock in server.sockets:
                    host, port = sock.getsockname()[:2]
                    print(f"smsledger API listening on http://{host}:{port}", flush=True)


# A 10,000-recipient bulk allocates some hundred thousand short-lived objects;
# with CPython's default gen-0 threshold of 700 that is over a hundred
# collections per request, about a sixth of its time. Long-lived objects
# built at start are frozen out of the collector's reach altogether.
GC_GEN0_THRESHOLD = 50_000
# uvicorn restarts a worker that does not answer its supervisor within this.
# A worker imports the whole product and builds its container first, which
# on a small, busy machine takes longer than uvicorn's 5 s default.
WORKER_HEALTHCHECK_TIMEOUT_S = 60
# Connections the kernel queues before the API accepts them (uvicorn's default).
LISTEN_BACKLOG = 2048


def with_session_key(settings: Settings) -> Settings:
    """For the roles that serve the API: without a configured JWT key, use (and
    on first start create) one in the data directory, so that sessions outlive
    a restart and every API process on this host accepts every token."""
    return replace(settings, identity=with_key_in_data_dir(settings.identity, settings.data_dir))


def create_worker_app() -> Litestar:
    """The app of one of several uvicorn worker processes.

    With more than one worker uvicorn starts each process afresh and asks this
    factory for its app, so every worker builds its own container (pools,
    caches) from the environment. What must hold across workers, such as rate
    limits, lives in PostgreSQL."""
    settings = Settings.from_env()
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is required by API workers")
    container = build(settings, settings.database_url, settings.nats_url)
    app = create_app(container)
    app.on_shutdown.append(container.close)
    tune_gc()
    return app


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


# Sync handlers run in Litestar's asyncio executor, which is by default the
# loop's: min(32, CPUs + 4) threads, 6 on two CPUs. A send holds its thread
# until its group commits, so that default would let at most 6 sends of an
# account share a transaction and queue the rest behind them. The threads
# mostly wait on the database; 64 let a burst of concurrent sends on one
# account commit together.
API_WORKER_THREADS = 64


def use_worker_threads(count: int = API_WORKER_THREADS) -> None:
    """Call before the event loop starts."""
    set_asyncio_executor(
        ThreadPoolExecutor(max_workers=count, thread_name_prefix="smsledger-api")
    )


# `up` serves the API once its background roles run, or after this long
# (then /readyz tells which do not).
ROLES_START_TIMEOUT_S = 90


def wait_for_roles(supervisor: Supervisor, timeout_s: float = ROLES_START_TIMEOUT_S) -> bool:
    """Wait until `up`'s background roles run; False if SIGINT or SIGTERM
    came first (then `up` stops without serving)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        if not supervisor.wait_running(timeout_s):
            logging.getLogger(__name__).warning(
                "serving although not every background role runs: %s", supervisor.states())
        return True
    except KeyboardInterrupt:
        return False
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve_api(
    container: Container, host: str, port: int, log_level: str,
    sock: socket.socket | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn drains in-flight requests first.
    `sock`, when given, is the listening socket (see bind_api_socket)."""
    tune_gc()
    use_worker_threads()
    config = uvicorn.Config(
        create_app(container),
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=log_level == "DEBUG",
        lifespan="on",
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the
        # API decides whom to believe, from SMSLEDGER_TRUSTED_PROXIES only.
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT_S,
    )
    server = _AnnouncingServer(config)
    server.run(sockets=None if sock is None else [sock])
    if not server.started:
        logging.getLogger(__name__).error("the API could not start on %s:%s", host, port)
        sys.exit(1)


def serve_api_workers(
    settings: Settings, database_url: str, nats_url: str | None, port: int, workers: int,
    sock: socket.socket | None = None,
) -> None:
    """Serve with `workers` processes on one socket until SIGINT or SIGTERM.
    Each worker builds its own container from the environment (see
    create_worker_app), so the URLs found here are passed on."""
    assert workers > 1
    os.environ["DATABASE_URL"] = database_url
    if nats_url:
        os.environ["NATS_URL"] = nats_url
    # Every worker must sign and verify sessions with the same key, so the
    # one found or created for this data directory is handed on too.
    key_file = settings.identity.jwt_private_key_file
    if key_file is not None and settings.identity.jwt_private_key_pem is None:
        os.environ["SMSLEDGER_JWT_PRIVATE_KEY_FILE"] = str(key_file)
    # Under `up`, every worker's /readyz reads the background roles' state.
    if settings.roles_status_file is not None:
        os.environ[ROLES_STATUS_FILE_ENV] = str(settings.roles_status_file)
    config = uvicorn.Config(
        WORKER_APP_FACTORY,
        factory=True,
        host=settings.host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
        lifespan="on",
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the
        # API decides whom to believe, from SMSLEDGER_TRUSTED_PROXIES only.
        proxy_headers=False,
        timeout_graceful_shutdown=10,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_TIMEOUT_S,
    )
    sock = sock or bind_api_socket(settings.host, port)
    host, bound_port = sock.getsockname()[:2]
    # Links the workers put in mail point at the port actually bound.
    os.environ["SMSLEDGER_PORT"] = str(bound_port)
    print(f"smsledger API listening on http://{host}:{bound_port} ({workers} workers)",
          flush=True)
    Multiprocess(config, sockets=[sock]).run()


def bind_api_socket(host: str, port: int) -> socket.socket:
    """The API's listening socket, bound before the container is built so
    that links to the API carry the port actually bound (also for port 0).

    Made here rather than by uvicorn's Config.bind_socket, which leaves the
    protocol number at 0: the accepted connections then inherit proto 0,
    asyncio does not set TCP_NODELAY on them, and each keep-alive response
    waits about 40 ms for the client's delayed ACK (uvicorn issue 3149)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening at once: a client that connects before the API is ready
        # waits in the backlog instead of being refused.
        sock.listen(LISTEN_BACKLOG)
    except OSError as error:
        sock.close()
        raise ConfigError(f"the API cannot listen on {host}:{port}: {error.strerror}") from None
    sock.set_inheritable(True)
    return sock
