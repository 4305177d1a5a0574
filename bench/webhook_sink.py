"""A webhook receiver for the benchmark, in its own process: answers every
POST with 200 at once (HTTP/1.1, keep-alive) and keeps, per request, when it
arrived and the `delivered_at` of message.delivered payloads.

    python -m bench.webhook_sink

prints `port <n>`; `GET /stats` answers {"count": n, "lag_ms": [...]} and
`POST /reset` (path) clears the counts.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from datetime import datetime

_DELIVERED_AT = re.compile(rb'"delivered_at":"([^"]+)"')
_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
MAX_HEADER_BYTES = 64 * 1024


class Stats:
    def __init__(self) -> None:
        self.count = 0
        self.lag_ms: list[float] = []

    def seen(self, body: bytes) -> None:
        self.count += 1
        found = _DELIVERED_AT.search(body)
        if found:
            stored = datetime.fromisoformat(found.group(1).decode().replace("Z", "+00:00"))
            self.lag_ms.append((time.time() - stored.timestamp()) * 1000)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stats: Stats) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            if len(head) > MAX_HEADER_BYTES:
                break
            first, _, rest = head.partition(b"\r\n")
            length = 0
            for line in rest.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            if first.startswith(b"GET /stats"):
                payload = json.dumps({"count": stats.count, "lag_ms": stats.lag_ms}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n"
                             + payload)
            elif first.startswith(b"POST /reset"):
                stats.count, stats.lag_ms = 0, []
                writer.write(_OK)
            else:
                stats.seen(body)
                writer.write(_OK)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main() -> None:
    stats = Stats()
    server = await asyncio.start_server(lambda r, w: handle(r, w, stats), "127.0.0.1", 0,
                                        backlog=1024)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
