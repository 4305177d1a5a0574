"""Handlers receive their services by injection: the app's providers come
from the container, and a caller of `create_app` may replace any of them."""

from __future__ import annotations

import socket
from dataclasses import replace

from litestar.testing import TestClient

from adapters.bootstrap.container import Container
from adapters.http.app import create_app
from adapters.http.health import Readiness
from adapters.http.services import provided
from adapters.postgres.readiness import DatabaseProbe


def _closed_port() -> int:
    """A local port nothing listens on once this returns."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_provider_can_be_replaced(container: Container) -> None:
    """The same database, but a NATS address where no server listens: the
    handler answers with the replacement, not with the container's own."""
    elsewhere = Readiness(
        DatabaseProbe(container.database_pools()), f"nats://127.0.0.1:{_closed_port()}", None
    )
    app = create_app(container, overrides={"readiness": provided(elsewhere)})
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503, response.text
    assert response.json()["checks"] == {"postgres": "ok", "nats": "unreachable"}


def test_the_container_provides_by_default(container: Container, nats_url: str) -> None:
    with TestClient(create_app(replace(container, nats_url=nats_url))) as client:
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"postgres": "ok", "nats": "ok"}
