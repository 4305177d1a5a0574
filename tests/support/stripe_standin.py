"""A local stand-in for the parts of Stripe's HTTP API that billing calls.

A real HTTP server on 127.0.0.1: the `stripe` library builds its requests
(form-encoded, nested keys, Idempotency-Key, bearer key) and parses these
answers exactly as it would Stripe's. Tests drive the other side: they
complete sessions, decline cards and sign webhook bodies the Stripe way.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_KEY = "sk_test_standin"
WEBHOOK_SECRET = "whsec_standin_secret"
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):08d}{int(time.time() * 1000) % 100000:05d}"


def parse_form(body: str) -> dict[str, Any]:
    """`a[b][0][c]=1` -> {"a": {"b": {"0": {"c": "1"}}}}, as Stripe reads it."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = result
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return result


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header: t=...,v1=HMAC-SHA256(secret, "t.payload")."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event_payload(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
    return json.dumps({
        "id": event_id or new_id("evt"), "object": "event", "type": event_type,
        "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
        "data": {"object": obj},
    }).encode()


class StripeStandIn:
    def __init__(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.setup_intents: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, Any], str | None]] = []
        self.declined_methods: set[str] = set()
        self._idempotent: dict[str, tuple[int, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> StripeStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self, method: str, path: str) -> list[tuple[dict[str, Any], str | None]]:
        return [(p, k) for m, u, p, k in self.requests if m == method and u == path]

    # What the customer does on Stripe's pages ------------------------------------

    def pay(self, session_id: str, *, payment_status: str = "paid") -> dict[str, Any]:
        session = self.sessions[session_id]
        intent = new_id("pi")
        session.update(status="complete", payment_status=payment_status, payment_intent=intent)
        self.payment_intents[intent] = {"id": intent, "object": "payment_intent",
                                        "status": "succeeded",
                                        "amount": session["amount_total"],
                                        "currency": session["currency"],
                                        "metadata": session["metadata"]}
        return json.loads(json.dumps(session))

    def save_card(self, session_id: str, payment_method: str | None = None) -> dict[str, Any]:
        session = self.sessions[session_id]
        setup = new_id("seti")
        method = payment_method or new_id("pm")
        self.setup_intents[setup] = {"id": setup, "object": "setup_intent",
                                     "status": "succeeded", "payment_method": method,
                                     "customer": session["customer"]}
        session.update(status="complete", setup_intent=setup)
        return json.loads(json.dumps(session))

    # The HTTP API ---------------------------------------------------------------

    def _answer(self, method: str, path: str, params: dict[str, Any],
                key: str | None) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append((method, path, params, key))
            if method == "POST" and key is not None and (method, path, key) in self._idempotent:
                return self._idempotent[(method, path, key)]  # type: ignore[index]
            answer = self._route(method, path, params)
            if method == "POST" and key is not None:
                self._idempotent[(method, path, key)] = answer  # type: ignore[index]
            return answer

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if (method, parts) == ("POST", ["v1", "customers"]):
            customer = {"id": new_id("cus"), "object": "customer",
                        "metadata": params.get("metadata", {})}
            self.customers[customer["id"]] = customer
            return 200, customer
        if (method, parts) == ("POST", ["v1", "checkout", "sessions"]):
            return 200, self._create_session(params)
        if (method, parts) == ("GET", ["v1", "checkout", "sessions"]):
            return 200, self._list_sessions(params)
        if method == "GET" and parts[:3] == ["v1", "checkout", "sessions"] and len(parts) == 4:
            return self._found(self.sessions.get(parts[3]))
        if method == "GET" and parts[:2] == ["v1", "setup_intents"] and len(parts) == 3:
            return self._found(self.setup_intents.get(parts[2]))
        if (method, parts) == ("POST", ["v1", "payment_intents"]):
            return self._create_payment_intent(params)
        return 404, {"error": {"type": "invalid_request_error", "message": f"no {path}"}}

    def _found(self, obj: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        if obj is None:
            return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                   "message": "No such object"}}
        return 200, obj

    def _create_session(self, params: dict[str, Any]) -> dict[str, Any]:
        session_id = new_id("cs_test")
        amount = None
        currency = params.get("currency")
        if params.get("mode") == "payment":
            price = params["line_items"]["0"]["price_data"]
            amount = int(price["unit_amount"]) * int(params["line_items"]["0"]["quantity"])
            currency = price["currency"]
        session = {
            "id": session_id, "object": "checkout.session", "mode": params["mode"],
            "url": f"{self.base_url}/pay/{session_id}", "status": "open",
            "payment_status": "unpaid" if params["mode"] == "payment" else "no_payment_required",
            "amount_total": amount, "currency": currency, "customer": params.get("customer"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}), "payment_intent": None,
            "setup_intent": None, "created": int(time.time()),
        }
        self.sessions[session_id] = session
        return session

    def _list_sessions(self, params: dict[str, Any]) -> dict[str, Any]:
        since = int(params.get("created", {}).get("gte", 0))
        limit = int(params.get("limit", 10))
        rows = [s for s in reversed(list(self.sessions.values())) if s["created"] >= since]
        after = params.get("starting_after")
        if after:
            ids = [s["id"] for s in rows]
            rows = rows[ids.index(after) + 1:]
        page = rows[:limit]
        return {"object": "list", "url": "/v1/checkout/sessions", "data": page,
                "has_more": len(rows) > limit}

    def _create_payment_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = {"id": new_id("pi"), "object": "payment_intent",
                  "amount": int(params["amount"]), "currency": params["currency"],
                  "customer": params.get("customer"),
                  "payment_method": params.get("payment_method"),
                  "metadata": params.get("metadata", {}), "status": "succeeded"}
        if params.get("payment_method") in self.declined_methods:
            intent["status"] = "requires_payment_method"
            self.payment_intents[intent["id"]] = intent
            return 402, {"error": {"type": "card_error", "code": "card_declined",
                                   "decline_code": "insufficient_funds",
                                   "message": "Your card has insufficient funds.",
                                   "payment_intent": intent}}
        self.payment_intents[intent["id"]] = intent
        return 200, intent

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _serve(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                params = parse_form(body if method == "POST" else url.query)
                if self.headers.get("authorization") != f"Bearer {API_KEY}":
                    status, answer = 401, {"error": {"type": "invalid_request_error",
                                                     "message": "Invalid API Key provided"}}
                else:
                    status, answer = standin._answer(
                        method, url.path, params, self.headers.get("idempotency-key"))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("request-id", new_id("req"))
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        return Handler
