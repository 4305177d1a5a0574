"""Under `up`, /readyz also answers for the background roles: not ready while
one is dead or starting, ready once all run again. The state comes from the
supervisor's status file, which every API process reads."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.http.app import create_app
from adapters.runtime.roles_status import write_roles_status


def test_readiness_follows_the_roles_of_up(
    container: Container, nats_url: str, tmp_path: Path
) -> None:
    status = tmp_path / "roles.json"
    under_up = replace(container, nats_url=nats_url,
                       settings=replace(container.settings, roles_status_file=status))
    roles = {"relay": "running", "projector:message_log": "running", "dispatcher": "running"}
    with TestClient(create_app(under_up)) as client:
        write_roles_status(status, roles)
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"postgres": "ok", "nats": "ok", "relay": "ok",
                                          "projector:message_log": "ok", "dispatcher": "ok"}

        write_roles_status(status, {**roles, "dispatcher": "dead"})
        dead = client.get("/readyz")
        assert dead.status_code == 503
        assert dead.json()["status"] == "not ready"
        assert dead.json()["checks"]["dispatcher"] == "dead"
        assert dead.json()["checks"]["relay"] == "ok"

        write_roles_status(status, {**roles, "dispatcher": "starting"})
        assert client.get("/readyz").status_code == 503
        write_roles_status(status, roles)
        assert client.get("/readyz").status_code == 200

        status.unlink()  # a supervisor that left no word is not trusted
        missing = client.get("/readyz")
        assert missing.status_code == 503
        assert missing.json()["checks"]["workers"] == "unknown"


def test_without_up_readiness_has_no_role_checks(container: Container, nats_url: str) -> None:
    """`smsledger api` on its own: the roles run elsewhere, under an
    orchestrator that restarts them; /readyz answers for the API only."""
    with TestClient(create_app(replace(container, nats_url=nats_url))) as client:
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"postgres": "ok", "nats": "ok"}
