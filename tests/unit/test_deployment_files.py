"""Docker is not available where we develop, so check the compose file by
reading it: every smsledger service runs a real subcommand of the CLI."""

from __future__ import annotations

from pathlib import Path

import yaml

from adapters.cli.main import build_parser

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


def test_nats_runs_jetstream_on_file_storage_with_fsync() -> None:
    compose = _compose()
    assert "-js" in compose["services"]["nats"]["command"]
    assert "sync_interval: always" in compose["configs"]["nats_conf"]["content"]


def test_image_entrypoint_is_the_cli() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["smsledger"]' in dockerfile
