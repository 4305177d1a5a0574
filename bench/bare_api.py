"""The baseline server of the concurrent-send benchmark: a bare Litestar
handler for POST /v1/sms/send that decodes the same request Struct and
returns the same response shape, with no authentication, middleware,
validation beyond the Struct's, pricing or database.

    python -m bench.bare_api --port PORT [--handler thread|async]

It is served as `smsledger api` serves the product: one uvicorn process with
the same options, worker threads and garbage-collector tuning. `--handler thread`
runs the handler in the worker thread pool as the product's send handler
does (`sync_to_thread=True`); `--handler async` runs it on the event loop.
"""

from __future__ import annotations

import argparse
import secrets
import uuid
from collections.abc import Sequence

import uvicorn
from litestar import Litestar, get, post
from litestar.params import JSONBody

from adapters.bootstrap.api import tune_gc, use_worker_threads
from adapters.http.bodies import Envelope, Meta
from adapters.http.sms.schemas import SendSmsRequest, SentSms


def _respond(data: SendSmsRequest) -> Envelope[SentSms]:
    message_id = str(uuid.uuid4())
    return Envelope(
        data=SentSms(
            id=message_id, messageId=message_id, message_id=message_id, status="queued",
            to=data.to, segments=1, encoding="GSM-7", cost_micros=40_000, cost=0.04, currency="GBP",
            client_ref=data.client_ref,
        ),
        meta=Meta(request_id="req_" + secrets.token_hex(8)),
    )


@post("/v1/sms/send", operation_id="sendSms", status_code=200, sync_to_thread=True)
def send_in_thread(data: JSONBody[SendSmsRequest]) -> Envelope[SentSms]:
    return _respond(data)


@post("/v1/sms/send", operation_id="sendSms", status_code=200)
async def send_on_loop(data: JSONBody[SendSmsRequest]) -> Envelope[SentSms]:
    return _respond(data)


@get("/healthz", operation_id="health", sync_to_thread=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_bare_app(handler: str) -> Litestar:
    send = send_in_thread if handler == "thread" else send_on_loop
    return Litestar(route_handlers=[send, healthz], debug=False)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_api")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--handler", choices=("thread", "async"), default="thread")
    args = parser.parse_args(argv)
    tune_gc()
    use_worker_threads()
    # The options of adapters.bootstrap.api.serve_api at log level WARNING.
    config = uvicorn.Config(
        create_bare_app(args.handler),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
