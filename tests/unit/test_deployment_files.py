"""Docker is not available where we develop, so check the compose file by
reading it: every smsledger service runs a real subcommand of the CLI."""

from __future__ import annotations

from pathlib import Path

import yaml

from adapters.cli.main import build_parser
from adapters.workers import projections_of
from projections.registry import ALL_PROJECTIONS

ROOT = Path(__file__).resolve().parents[2]
ROLES = {"api", "relay", "dispatcher", "projector", "webhooks", "campaigns"}


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_smsledger_service_runs_a_real_subcommand() -> None:
    parser = build_parser()
    services = _compose()["services"]
    checked = set()
    for name, service in services.items():
        if service.get("image") != "smsledger:latest":
            continue
        args = parser.parse_args(service["command"])  # exits on an unknown command
        assert callable(args.func), name
        checked.add(args.command)
    assert ROLES | {"migrate"} <= checked


def test_the_projector_services_run_every_projection_once() -> None:
    parser = build_parser()
    run: list[str] = []
    for service in _compose()["services"].values():
        if service.get("image") != "smsledger:latest" or service["command"][0] != "projector":
            continue
        only = parser.parse_args(service["command"]).only
        run += [p.name for p in projections_of((f"projector:{only}" if only else "projector",))]
    assert sorted(run) == sorted(p.name for p in ALL_PROJECTIONS)


def test_nats_runs_jetstream_on_file_storage_with_fsync() -> None:
    compose = _compose()
    assert "-js" in compose["services"]["nats"]["command"]
    assert "sync_interval: always" in compose["configs"]["nats_conf"]["content"]


def test_image_entrypoint_is_the_cli() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["smsledger"]' in dockerfile
