"""Requests from chosen client addresses, through Litestar's TestClient.

The TestClient always connects as "testclient"; this wrapper takes the
socket peer from a test-only header instead, as a server would from the
connection, so that tests can speak for several addresses."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from litestar.types import Receive, Scope, Send

PEER_HEADER = "x-test-peer"
_PEER_HEADER = PEER_HEADER.encode()


class PeerFromHeader:
    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == _PEER_HEADER:
                    scope["client"] = (value.decode(), 50000)
        await self.app(scope, receive, send)


def peer_client(app: Litestar) -> TestClient[Any]:
    return TestClient(PeerFromHeader(app))  # type: ignore[arg-type]


def from_peer(address: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return {**(headers or {}), PEER_HEADER: address}
