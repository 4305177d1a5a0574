"""Docker is not available where we develop, so check the compose file by
reading it: every smsledger service runs a real subcommand of the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from adapters.bootstrap.workers import projections_of
from adapters.cli.main import build_parser
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


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in lines if line and not line.startswith("#")]


def test_the_image_runs_as_its_own_user_with_a_data_dir_it_owns() -> None:
    """Without a writable data dir the API cannot keep its JWT key (and `up`
    its data): /app belongs to root, so the data dir is elsewhere."""
    instructions = _dockerfile_instructions()
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must not run as root"
    user = users[-1]
    last_user = max(i for i, (op, _) in enumerate(instructions) if op == "USER")
    assert all(op not in ("RUN", "COPY", "ADD") for op, _ in instructions[last_user:]), \
        "nothing is installed after switching to the user"
    env = " ".join(arg for op, arg in instructions if op == "ENV")
    found = re.search(r"SMSLEDGER_DATA_DIR=(\S+)", env)
    assert found, "the image sets SMSLEDGER_DATA_DIR"
    data_dir = found.group(1)
    assert not data_dir.startswith("/app"), data_dir
    runs = " ".join(arg for op, arg in instructions if op == "RUN")
    assert re.search(rf"install -d -o {user} -g {user} -m 0700 {re.escape(data_dir)}", runs), \
        f"{data_dir} is created owned by {user}"


def _smsledger_services() -> dict[str, dict]:
    return {name: service for name, service in _compose()["services"].items()
            if service.get("image") == "smsledger:latest"}


def test_every_api_container_shares_one_jwt_key_from_a_secret() -> None:
    compose = _compose()
    api = compose["services"]["api"]
    key_file = api["environment"]["SMSLEDGER_JWT_PRIVATE_KEY_FILE"]
    secret = key_file.removeprefix("/run/secrets/")
    assert key_file == f"/run/secrets/{secret}"
    assert secret in api["secrets"]
    assert "file" in compose["secrets"][secret] or "environment" in compose["secrets"][secret]


def test_services_have_healthchecks_and_wait_for_healthy_dependencies() -> None:
    services = _compose()["services"]
    for name in ("postgres", "nats", "api"):
        check = services[name].get("healthcheck")
        assert check and check["test"], f"{name} has no healthcheck"
    assert any("/readyz" in part for part in services["api"]["healthcheck"]["test"])
    assert "-m" in services["nats"]["command"]  # the monitoring port /healthz is on
    for name, service in _smsledger_services().items():
        needs = service["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy", name
        if name != "migrate":
            assert needs["nats"]["condition"] == "service_healthy", name
            assert needs["migrate"]["condition"] == "service_completed_successfully", name
