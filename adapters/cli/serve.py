"""Serving the API with uvicorn, and printing where it listens."""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvicorn
from litestar.concurrency import set_asyncio_executor

from adapters.bootstrap import Container
from adapters.http.app import create_app

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


def serve_api(container: Container, host: str, port: int, log_level: str) -> None:
    """Serve until SIGINT or SIGTERM; uvicorn drains in-flight requests first."""
    tune_gc()
    use_worker_threads()
    config = uvicorn.Config(
        create_app(container),
        host=host,
        port=port,
        log_level=log_level.lower(),
        access_log=log_level == "DEBUG",
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    server = _AnnouncingServer(config)
    server.run()
    if not server.started:
        logging.getLogger(__name__).error("the API could not start on %s:%s", host, port)
        sys.exit(1)
