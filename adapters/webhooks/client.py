"""Posting one signed webhook to a checked address, with hard limits.

The request goes to the IP address the guard checked, never to the name
again: the URL is rewritten to the address, the Host header names the host,
and for https the TLS handshake sends the host as SNI and checks the
certificate against it (httpcore's `sni_hostname` extension is used as the
server hostname for both). Connections are pooled per host name, so a
connection opened for one name is never reused for another on the same
address.

Redirects are not followed (a 3xx is a failed attempt), each attempt has an
overall deadline, and at most MAX_RESPONSE_BYTES of the response are read.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass

import httpx

from adapters.webhooks.ssrf import Target

MAX_RESPONSE_BYTES = 16 * 1024
MAX_ERROR_LENGTH = 500
MAX_CLIENTS = 256
USER_AGENT = "smsledger-webhooks/1"


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int | None  # None when no response came (timeout, refused, TLS)
    latency_ms: int
    error: str
    retry_after: str | None
    body_excerpt: bytes


class TargetClients:
    """One pooled httpx client per (scheme, host, port), least recently used
    out first, each allowed `per_host_connections` connections."""

    def __init__(self, *, timeout_s: float, per_host_connections: int) -> None:
        self._timeout_s = timeout_s
        self._per_host = per_host_connections
        self._clients: OrderedDict[tuple[str, str, int], httpx.AsyncClient] = OrderedDict()

    def _client(self, target: Target) -> httpx.AsyncClient:
        key = (target.scheme, target.host, target.port)
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        if len(self._clients) >= MAX_CLIENTS:
            _, oldest = self._clients.popitem(last=False)
            asyncio.get_running_loop().create_task(oldest.aclose())
        client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(self._timeout_s),
            transport=httpx.AsyncHTTPTransport(
                limits=httpx.Limits(
                    max_connections=self._per_host, max_keepalive_connections=self._per_host
                ),
                # A request goes out as headers then body: with Nagle's
                # algorithm the body waits for the receiver's delayed ACK of
                # the headers, about 40 ms on a kept-alive connection.
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            ),
            trust_env=False,  # never through a proxy from the environment
        )
        self._clients[key] = client
        return client

    async def post(self, target: Target, body: bytes, headers: dict[str, str]) -> Response:
        started = time.perf_counter()
        request_headers = {
            **headers,
            "Host": target.host_header(),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        client = self._client(target)
        try:
            async with asyncio.timeout(self._timeout_s):
                request = client.build_request(
                    "POST", target.connect_url(), content=body, headers=request_headers,
                    extensions=extensions,
                )
                response = await client.send(request, stream=True)
                try:
                    excerpt = await _read_capped(response)
                finally:
                    await response.aclose()
        except TimeoutError:
            return Response(None, _ms(started), f"timed out after {self._timeout_s:g}s", None, b"")
        except httpx.HTTPError as error:
            message = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
            return Response(None, _ms(started), message, None, b"")
        failure = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return Response(
            response.status_code, _ms(started), failure, response.headers.get("retry-after"),
            excerpt,
        )

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await client.aclose()


async def _read_capped(response: httpx.Response) -> bytes:
    kept = bytearray()
    async for chunk in response.aiter_raw():
        kept += chunk[: MAX_RESPONSE_BYTES - len(kept)]
        if len(kept) >= MAX_RESPONSE_BYTES:
            break
    return bytes(kept)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
