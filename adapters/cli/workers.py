"""`smsledger relay`, `projector`, `dispatcher`, `webhooks` and `projections ...`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from adapters.bootstrap.container import build
from adapters.bootstrap.services import running_services
from adapters.bootstrap.workers import projections_of, run_workers
from adapters.config.settings import ConfigError, Settings
from adapters.projector.rebuild import rebuild
from adapters.projector.status import statuses
from projections.registry import ALL_PROJECTIONS, by_name


def add_commands(sub: Any) -> None:
    for role in ("relay", "projector", "dispatcher", "webhooks", "auto-topup", "campaigns"):
        parser = sub.add_parser(role, help=f"run the {role}")
        parser.set_defaults(func=cmd_worker_role)
        if role == "projector":
            parser.add_argument("--only", metavar="NAME[,NAME...]",
                                help="run only these projections (default: all)")
    projections = sub.add_parser("projections", help="read-model maintenance")
    projections_sub = projections.add_subparsers(dest="projections_command", required=True)
    rebuild = projections_sub.add_parser(
        "rebuild", help="rebuild read models from the event store"
    )
    which = rebuild.add_mutually_exclusive_group(required=True)
    which.add_argument("name", nargs="?", help="projection name")
    which.add_argument("--all", action="store_true", help="every projection")
    rebuild.add_argument("--data-dir", type=Path)
    rebuild.set_defaults(func=cmd_rebuild)
    status = projections_sub.add_parser("status", help="position and lag of each projection")
    status.add_argument("--data-dir", type=Path)
    status.set_defaults(func=cmd_status)


def cmd_worker_role(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url is None or settings.nats_url is None:
        raise ConfigError("DATABASE_URL and NATS_URL are required for this role")
    only = getattr(args, "only", None)
    role = f"{args.command}:{only}" if only else args.command
    try:
        projections_of((role,))  # an unknown name stops here, before any connection
    except KeyError as error:
        raise ConfigError(str(error.args[0])) from None
    container = build(settings, settings.database_url, settings.nats_url)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(f"smsledger {args.command} running", flush=True)
        await run_workers(container, stop, roles=(role,))

    try:
        asyncio.run(main())
    finally:
        container.close()
    return 0


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    try:
        chosen = ALL_PROJECTIONS if args.all else (by_name(args.name),)
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    with running_services(settings, need_nats=False) as services:
        container = build(settings, services.database_url)
        try:
            for projection in chosen:
                bar = ProgressBar(projection.name)
                result = rebuild(
                    projection, container.pool, container.app.recorder, container.app.mapper,
                    progress=bar.update,
                )
                bar.done()
                # The server sends only the events of the projection's types;
                # the position says how far into the log the rebuild reached.
                print(f"{result.projection}: read {result.events_read} events of its types,"
                      f" applied {result.envelopes_applied}, position {result.position};"
                      f" indexes built in {result.index_build_s:.1f} s")
        finally:
            container.close()
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    with running_services(settings, need_nats=False) as services:
        container = build(settings, services.database_url)
        try:
            rows = statuses(
                ALL_PROJECTIONS, container.pool, container.app.recorder, container.app.mapper,
                container.app.recorder.events_table_name,  # type: ignore[attr-defined]
            )
        finally:
            container.close()
    print(f"{'projection':<22}{'position':>12}{'lag events':>12}{'lag s':>10}{'parked':>8}")
    for row in rows:
        print(f"{row.name:<22}{row.position:>12}{row.lag_events:>12}{row.lag_s:>10.2f}"
              f"{row.dead_letters:>8}")
    return 0


class ProgressBar:
    """A one-line progress bar on stderr: rebuilds of millions take minutes."""

    WIDTH = 30

    def __init__(self, label: str) -> None:
        self._label = label

    def update(self, reached: int, target: int) -> None:
        fraction = reached / target if target else 1.0
        filled = int(self.WIDTH * fraction)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        print(f"\r{self._label:<20} [{bar}] {reached}/{target}", end="", file=sys.stderr,
              flush=True)

    def done(self) -> None:
        print(file=sys.stderr, flush=True)
