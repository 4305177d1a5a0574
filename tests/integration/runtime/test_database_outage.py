"""PostgreSQL goes down under load and comes back: the API answers 503
SERVICE_UNAVAILABLE with Retry-After within 2 seconds while it is down
(never a hang, never a 500), /readyz says not ready, nothing answered 2xx
is lost, nothing answered 503 is stored and charged behind the caller's
back, and the API recovers by itself once the database is back.

The test runs its own embedded PostgreSQL, so stopping it disturbs nothing
else; the machine's server is never touched.
"""

from __future__ import annotations

import pathlib
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from eventsourcing import persistence
from litestar.testing import TestClient

from adapters.bootstrap.container import Container, build
from adapters.bootstrap.infrastructure import migrate_database
from adapters.config.settings import Settings
from adapters.http.app import create_app
from adapters.runtime.embedded import EmbeddedPostgres
from domain import ids
from domain.wallet import TopUpSource
from tests.support.infra import create_database
from tests.support.owner_keys import new_account

pytestmark = pytest.mark.timeout(180)

OUTAGE_S = 5.0
SENDERS = 6
ANSWER_WITHIN_S = 2.0
RECOVER_WITHIN_S = 10.0
SEND = {"to": "+447700900123", "from": "Acme", "body": "outage"}


@dataclass
class Answer:
    url: str
    started_s: float
    elapsed_s: float
    status: int
    body: dict[str, Any]
    retry_after: str | None
    key: str | None = None


@dataclass
class Load:
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def call(self, client: TestClient[Any], method: str, url: str, *, key: str | None = None,
             **kwargs: Any) -> Answer:
        started = time.monotonic()
        try:
            response = client.request(method, url, **kwargs)
            answer = Answer(url, started, time.monotonic() - started, response.status_code,
                            response.json(), response.headers.get("retry-after"), key)
        except Exception as error:  # raised through the test client: status 0 fails the test
            answer = Answer(url, started, time.monotonic() - started, 0,
                            {"exception": repr(error)}, None, key)
        with self.guard:
            self.answers.append(answer)
        return answer


@pytest.fixture
def outage_server() -> Iterator[EmbeddedPostgres]:
    # Not under pytest's tmp_path: a concurrent pytest run resets that tree
    # to 0700, which locks out the server's own system user.
    with tempfile.TemporaryDirectory(prefix="smsledger-outage-") as data_dir:
        server = EmbeddedPostgres(pathlib.Path(data_dir))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def outage_container(outage_server: EmbeddedPostgres, nats_url: str) -> Iterator[Container]:
    url = create_database(outage_server.dsn, "outage")
    migrate_database(url)
    # A pool smaller than the senders, so that some wait for a connection.
    built = build(Settings.from_env({"SMSLEDGER_DB_POOL_SIZE": "3"}), url, nats_url)
    try:
        yield built
    finally:
        built.close()


def _sender(load: Load, client: TestClient[Any], headers: dict[str, str], keyed: bool) -> None:
    """Sends one after another: with an Idempotency-Key (whose claim is the
    first thing to need the database) or without (the save is)."""
    while not load.stop.is_set():
        if keyed:
            key = uuid.uuid4().hex
            load.call(client, "POST", "/v1/sms/send", key=key, json=SEND,
                      headers={**headers, "Idempotency-Key": key})
        else:
            load.call(client, "POST", "/v1/sms/send", json=SEND, headers=headers)


def _reader(load: Load, client: TestClient[Any], headers: dict[str, str]) -> None:
    while not load.stop.is_set():
        load.call(client, "GET", "/v1/billing/balance", headers=headers)
        load.call(client, "GET", "/readyz")
        time.sleep(0.05)


def test_a_database_outage_under_load(
    outage_server: EmbeddedPostgres, outage_container: Container
) -> None:
    container = outage_container
    owner = new_account(container, "Outage Ltd")
    principal = container.accounts.authenticate(owner["X-API-Key"], owner["X-API-Secret"])
    assert principal is not None
    # Above the load's rate, so that a 429 can only come from stalled
    # requests released in a burst (as happened before).
    container.accounts.set_rate_limit(principal.account_id, 2_000)
    wallet_id = ids.wallet_id(principal.account_id, sandbox=False)
    container.wallets.top_up(wallet_id, 10**12, TopUpSource.ADJUSTMENT, "outage")
    load = Load()
    with TestClient(create_app(container)) as client:
        assert client.get("/readyz").status_code == 200
        threads = [threading.Thread(target=_sender, args=(load, client, owner, n % 2 == 0))
                   for n in range(SENDERS)]
        threads.append(threading.Thread(target=_reader, args=(load, client, owner)))
        for thread in threads:
            thread.start()
        try:
            time.sleep(1.0)
            outage_server.stop()  # pg_ctl stop -m fast
            down_at = time.monotonic()
            time.sleep(OUTAGE_S)
            restart_at = time.monotonic()
            outage_server.start()
            up_at = time.monotonic()
            recovered_at = _wait_for_a_stored_send(load, up_at)
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(timeout=120)
        assert recovered_at is not None, (
            "no send succeeded after the database came back", _timeline(load, down_at))
        assert recovered_at - up_at < RECOVER_WITHIN_S
        assert client.get("/readyz").status_code == 200
        _resolve_unknown_outcomes(load, client, owner)

    try:
        _check_every_answer(load.answers, down_at, restart_at)
    except AssertionError as failure:
        raise AssertionError([str(failure), *_timeline(load, down_at)]) from None
    _check_the_store(container, principal.account_id, load.answers)


def _timeline(load: Load, down_at: float) -> list[str]:
    """Per half second around the outage: how many answers of each status,
    and the slowest, for the failure message."""
    halves: dict[int, list[Answer]] = {}
    for answer in load.answers:
        halves.setdefault(int((answer.started_s - down_at) * 2), []).append(answer)
    lines = []
    for half in sorted(halves):
        answers = halves[half]
        statuses = sorted({a.status for a in answers})
        counts = ", ".join(f"{s}x{sum(a.status == s for a in answers)}" for s in statuses)
        slowest = max(answers, key=lambda a: a.elapsed_s)
        lines.append(f"{half / 2:+.1f}s: {counts}, slowest {slowest.elapsed_s:.2f}s"
                     f" ({slowest.url} {slowest.status})")
    return lines


def _wait_for_a_stored_send(load: Load, since: float) -> float | None:
    deadline = since + RECOVER_WITHIN_S * 2
    while time.monotonic() < deadline:
        with load.guard:
            done = [a.started_s + a.elapsed_s for a in load.answers
                    if a.url == "/v1/sms/send" and a.status == 200 and a.started_s > since]
        if done:
            return min(done)
        time.sleep(0.1)
    return None


def _outcome(answer: Answer) -> str | None:
    details = answer.body.get("error", {}).get("details", {})
    outcome = details.get("outcome")
    return outcome if isinstance(outcome, str) else None


def _check_every_answer(answers: list[Answer], down_at: float, restart_at: float) -> None:
    statuses = {a.status for a in answers}
    assert statuses <= {200, 503}, sorted(statuses)
    slowest = max(answers, key=lambda a: a.elapsed_s)
    assert slowest.elapsed_s < ANSWER_WITHIN_S, (
        slowest.url, slowest.status, slowest.elapsed_s, slowest.started_s - down_at)
    during = [a for a in answers
              if down_at + 0.5 < a.started_s and a.started_s + a.elapsed_s < restart_at]
    assert len(during) > 20, len(during)
    assert all(a.status == 503 for a in during), {(a.url, a.status) for a in during}
    assert {a.url for a in during} == {"/v1/sms/send", "/v1/billing/balance", "/readyz"}
    for answer in answers:
        if answer.status != 503:
            continue
        if answer.url == "/readyz":
            assert answer.body["status"] == "not ready", answer.body
            assert answer.body["checks"]["postgres"] != "ok", answer.body
            continue
        assert answer.body["error"]["code"] == "SERVICE_UNAVAILABLE", answer.body
        assert answer.retry_after is not None and int(answer.retry_after) >= 1, answer


def _resolve_unknown_outcomes(load: Load, client: TestClient[Any], owner: dict[str, str]) -> None:
    """A send whose outcome the server could not know is retried with its
    Idempotency-Key: it is then sent now, or refused as recorded (or as
    still in progress, while the first attempt's claim on the key is held)."""
    unknown = [a for a in load.answers if a.key is not None and _outcome(a) == "unknown"]
    for answer in unknown:
        retry = client.post("/v1/sms/send", json=SEND,
                            headers={**owner, "Idempotency-Key": str(answer.key)})
        assert retry.status_code in (200, 409), retry.text


def _check_the_store(container: Container, account_id: str, answers: list[Answer]) -> None:
    sends = [a for a in answers if a.url == "/v1/sms/send"]
    accepted = [a for a in sends if a.status == 200]
    unknown = [a for a in sends if _outcome(a) == "unknown"]
    refused = [a for a in sends if a.status == 503 and _outcome(a) != "unknown"]
    assert accepted and refused, (len(accepted), len(refused))
    for answer in refused:
        assert _outcome(answer) in (None, "not_saved"), answer.body
    accepted_ids = [uuid.UUID(a.body["data"]["id"]) for a in accepted]
    lost = len(accepted_ids) - len(container.app.get_many(accepted_ids))
    assert not lost, f"{lost} sends answered 200 are not stored"
    keyed_refused = [ids.keyed_message_id(account_id, str(a.key), 0)
                     for a in refused if a.key is not None]
    assert keyed_refused, "no send with an Idempotency-Key was refused"
    behind_the_back = container.app.get_many(keyed_refused)
    assert not behind_the_back, f"{len(behind_the_back)} sends answered 503 were stored"
    # Sends without a key are counted by what the wallet holds: every stored
    # message holds its price until it is dispatched, and nothing dispatches
    # here. Those of unknown outcome may be stored or not.
    keyed_unknown = container.app.get_many(
        [ids.keyed_message_id(account_id, str(a.key), 0) for a in unknown if a.key is not None]
    )
    price = accepted[0].body["data"]["cost_micros"]
    held = container.wallets.balance(ids.wallet_id(account_id, sandbox=False)).reserved_micros
    assert held % price == 0, (held, price)
    at_least = len(accepted) + len(keyed_unknown)
    at_most = at_least + sum(a.key is None for a in unknown)
    assert at_least <= held // price <= at_most, (held // price, at_least, at_most)


def test_a_send_whose_commit_may_have_happened_says_so(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The save commits but its answer is lost with the connection: the
    send is not claimed to be refused, and a retry with its Idempotency-Key
    finds it recorded instead of charging it twice."""
    owner = new_account(container, "Lost Answer Ltd")
    principal = container.accounts.authenticate(owner["X-API-Key"], owner["X-API-Secret"])
    assert principal is not None
    recorder = container.app.recorder
    commit_then_lose_the_answer = recorder._append  # type: ignore[attr-defined]

    def append(stored_events: Any) -> Any:
        commit_then_lose_the_answer(stored_events)
        lost = psycopg.OperationalError("server closed the connection unexpectedly")
        raise persistence.OperationalError(str(lost)) from lost

    headers = {**owner, "Idempotency-Key": "lost-answer"}
    with TestClient(create_app(container)) as client:
        monkeypatch.setattr(recorder, "_append", append)
        first = client.post("/v1/sms/send", json=SEND, headers=headers)
        monkeypatch.undo()
        assert first.status_code == 503, first.text
        assert first.json()["error"]["details"]["outcome"] == "unknown"
        assert int(first.headers["retry-after"]) >= 1
        message_id = ids.keyed_message_id(principal.account_id, "lost-answer", 0)
        assert message_id in container.app.get_many([message_id])  # it did commit
        retry = client.post("/v1/sms/send", json=SEND, headers=headers)
        assert retry.status_code == 409, retry.text
        estimate = client.post("/v1/sms/estimate", headers=owner,
                               json={"to": SEND["to"], "body": SEND["body"]})
    price = estimate.json()["data"]["cost_micros"]
    balance = container.wallets.balance(ids.wallet_id(principal.account_id, sandbox=False))
    assert price > 0 and balance.reserved_micros == price  # charged once
