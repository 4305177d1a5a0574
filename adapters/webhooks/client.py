"""Posting one signed webhook to a checked address, with hard limits.

The request goes to the IP address the guard checked, never to the name
again: the URL is rewritten to the address, the Host header names the host,
and for https the TLS handshake sends the host as SNI and checks the
certificate against it (aiohttp's `server_hostname`, which is also part of
its connection key). Sessions are kept per host name, so a connection
opened for one name is never reused for another on the same address.

Redirects are not followed (a 3xx is a failed attempt), each attempt has an
overall deadline, and at most MAX_RESPONSE_BYTES of the response are read,
undecoded.

aiohttp rather than httpx: posting small bodies over kept-alive
connections, httpx spent about 1.3 ms of CPU per request here and aiohttp
about 0.1 ms, and the sender's throughput is bound by exactly that.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass

import aiohttp
from yarl import URL

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
    """One pooled aiohttp session per (scheme, host, port), least recently
    used out first, each allowed `per_host_connections` connections.

    `tls` is the context that checks receivers' certificates: the system's
    trust store unless a test brings its own authority.
    """

    def __init__(self, *, timeout_s: float, per_host_connections: int,
                 tls: ssl.SSLContext | None = None) -> None:
        self._timeout_s = timeout_s
        self._per_host = per_host_connections
        self._tls = tls if tls is not None else ssl.create_default_context()
        self._clients: OrderedDict[tuple[str, str, int], aiohttp.ClientSession] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def _client(self, target: Target) -> aiohttp.ClientSession:
        key = (target.scheme, target.host, target.port)
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        if len(self._clients) >= MAX_CLIENTS:
            _, oldest = self._clients.popitem(last=False)
            closing = asyncio.get_running_loop().create_task(oldest.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
        client = aiohttp.ClientSession(
            # aiohttp sets TCP_NODELAY on its connections: without it the
            # body would wait for the receiver's delayed ACK of the headers.
            connector=aiohttp.TCPConnector(
                limit=self._per_host, limit_per_host=self._per_host, ssl=self._tls,
            ),
            timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            auto_decompress=False,  # the excerpt is capped raw bytes, never inflated
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
        client = self._client(target)
        try:
            async with asyncio.timeout(self._timeout_s), client.post(
                URL(target.connect_url(), encoded=True), data=body, headers=request_headers,
                allow_redirects=False,
                server_hostname=target.host if target.scheme == "https" else None,
            ) as response:
                excerpt = await _read_capped(response)
        except TimeoutError:
            return Response(None, _ms(started), f"timed out after {self._timeout_s:g}s", None, b"")
        except aiohttp.ClientError as error:
            message = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
            return Response(None, _ms(started), message, None, b"")
        failure = "" if 200 <= response.status < 300 else f"HTTP {response.status}"
        return Response(
            response.status, _ms(started), failure, response.headers.get("Retry-After"), excerpt,
        )

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            await client.close()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """At most MAX_RESPONSE_BYTES of the body. Leaving the rest unread makes
    aiohttp close the connection instead of reusing it."""
    kept = bytearray()
    async for chunk in response.content.iter_chunked(MAX_RESPONSE_BYTES):
        kept += chunk[: MAX_RESPONSE_BYTES - len(kept)]
        if len(kept) >= MAX_RESPONSE_BYTES:
            break
    return bytes(kept)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
