"""A local webhook receiver for tests, and the two independent verifiers.

The receiver is a real HTTP server on 127.0.0.1 in a thread; `answer`
decides each response's status (and headers) from the request count, so a
test can make it fail for a while and then recover.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

TOLERANCE_S = 300


def verify_seed_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The seed's recipe: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>,
    timestamps older than five minutes refused; any listed signature may match."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered["x-webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > TOLERANCE_S:
        return False
    expected = "sha256=" + hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return any(
        hmac.compare_digest(expected, given.strip())
        for given in lowered["x-webhook-signature"].split(",")
    )


def verify_standard_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The `standardwebhooks` package, as a customer would use it."""
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def event_id(self) -> str:
        return self.headers["X-Webhook-Id"]


Answer = Callable[[int, "Received"], tuple[int, dict[str, str]]]


def always_ok(count: int, received: Received) -> tuple[int, dict[str, str]]:
    return 200, {}


@dataclass
class Receiver:
    url: str
    answer: Answer
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def successes(self) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.02)
        raise AssertionError(f"the receiver did not get what was expected in {timeout_s}s; "
                             f"got {len(self.requests)} requests")


@contextmanager
def receiver(answer: Answer = always_ok, path: str = "/hooks") -> Iterator[Receiver]:
    state = Receiver(url="", answer=answer)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            received = Received(dict(self.headers.items()), body, 0, time.time())
            with state.lock:
                status, extra = state.answer(len(state.requests), received)
                received.status = status
                state.requests.append(received)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
