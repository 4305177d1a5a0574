"""The dispatcher role's handling of JetStream runs: what it acks, what it
hands back and when, and that a run it holds is kept from redelivery."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from nats.aio.msg import Msg

from adapters.dispatcher import worker as worker_module
from adapters.dispatcher.worker import DispatcherWorker
from application.delivery.dispatching import OutcomesNotSaved


class RecordingClient:
    """Stands in for the NATS connection: JetStream acks are publishes to
    the run's reply subject, recorded here per subject."""

    def __init__(self) -> None:
        self.published: dict[str, list[bytes]] = {}

    async def publish(self, subject: str, payload: bytes = b"", headers: Any = None) -> None:
        self.published.setdefault(subject, []).append(payload)


_sequence = itertools.count(1)


class FakeRun(Msg):
    """A real JetStream message (the worker must hold nats' own type, which
    is not hashable), answered into a recording client."""

    def __init__(self, deliveries: int = 1, data: bytes = b"[]") -> None:
        n = next(_sequence)
        client = RecordingClient()
        super().__init__(_client=cast(Any, client), subject="smsledger.message.accepted",
                         reply=f"$JS.ACK.SMSLEDGER.dispatcher.{deliveries}.{n}.{n}.0.0",
                         data=data)
        self.recording = client

    @property
    def answers(self) -> list[tuple[str, Any]]:
        answers: list[tuple[str, Any]] = []
        for payload in self.recording.published.get(self.reply, []):
            if payload == b"":
                answers.append(("ack", None))
            elif payload.startswith(b"-NAK"):
                delay = json.loads(payload[5:])["delay"] / 1e9 if len(payload) > 4 else None
                answers.append(("nak", delay))
            elif payload == b"+TERM":
                answers.append(("term", None))
        return answers

    @property
    def in_progress_marks(self) -> int:
        return self.recording.published.get(self.reply, []).count(b"+WPI")


class FakeDispatcher:
    def __init__(self, behaviour) -> None:
        self._behaviour = behaviour

    async def dispatch(self, message_ids, stop=None):
        return await self._behaviour(message_ids)


def worker_with(behaviour) -> DispatcherWorker:
    return DispatcherWorker(FakeDispatcher(behaviour), {}, collector=None)  # type: ignore[arg-type]


def chunk_of(*runs: FakeRun) -> list[tuple[Any, list[UUID]]]:
    return [(run, [uuid4(), uuid4()]) for run in runs]


def test_a_run_the_dispatcher_could_not_finish_is_handed_back_at_once() -> None:
    async def database_gone(ids):
        raise ConnectionError("the database went away")

    first, again = FakeRun(deliveries=1), FakeRun(deliveries=4)
    worker = worker_with(database_gone)
    worker._held.update({id(r): r for r in (first, again)})
    asyncio.run(worker._dispatch_chunk(chunk_of(first, again)))
    assert first.answers == [("nak", worker_module.RETRY_FIRST_S)]
    assert again.answers == [("nak", worker_module.RETRY_FIRST_S * 8)]  # backs off
    assert worker._held == {}


def test_the_retry_delay_is_bounded() -> None:
    assert worker_module._retry_delay_s(FakeRun(deliveries=10_000)) == worker_module.RETRY_MAX_S


def test_runs_are_acked_when_done_and_handed_back_by_the_shortest_wait() -> None:
    done, waiting = FakeRun(), FakeRun()
    chunk = chunk_of(done, waiting)
    waits = {chunk[1][1][0]: 30.0, chunk[1][1][1]: 5.0}

    async def decide(ids):
        return {i: waits.get(i) for i in ids}

    asyncio.run(worker_with(decide)._dispatch_chunk(chunk))
    assert done.answers == [("ack", None)]
    assert waiting.answers == [("nak", 5.0)]


def test_a_run_with_unsaved_outcomes_is_not_answered() -> None:
    """Stopping in the middle of a save: acking would lose the carrier's
    ids, handing back would send again at once. Left to the ack wait."""
    async def stopped(ids):
        raise OutcomesNotSaved("outcomes")

    run = FakeRun()
    worker = worker_with(stopped)
    worker._held[id(run)] = run
    asyncio.run(worker._dispatch_chunk(chunk_of(run)))
    assert run.answers == []
    assert worker._held == {}


def test_held_runs_are_kept_in_progress_during_a_long_dispatch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker_module, "KEEPALIVE_S", 0.01)

    async def slow(ids):
        await asyncio.sleep(0.1)  # a save retried through an outage
        return dict.fromkeys(ids)

    async def scenario() -> FakeRun:
        run, queued = FakeRun(), FakeRun()
        worker = worker_with(slow)
        stop = asyncio.Event()
        worker._held.update({id(r): r for r in (run, queued)})  # `queued` waits behind `run`
        keepalive = asyncio.create_task(worker._keep_alive(stop))
        await worker._dispatch_chunk(chunk_of(run))
        marks = queued.in_progress_marks
        stop.set()
        await keepalive
        assert run.answers == [("ack", None)]
        assert marks >= 3
        return run

    run = asyncio.run(scenario())
    assert run.in_progress_marks >= 3


def test_fetched_runs_are_held_then_answered() -> None:
    from tests.unit.adapters.jetstream.test_shared_runs import run_of

    runs = [FakeRun(data=run_of(10 * i + 1, 3)) for i in range(3)]

    class Subscription:
        async def fetch(self, batch: int, timeout: float) -> list[Msg]:
            return list(runs)

    seen: list[UUID] = []

    async def decide(ids):
        seen.extend(ids)
        return dict.fromkeys(ids)

    worker = worker_with(decide)
    asyncio.run(worker._consume_once(Subscription(), batch_size=4))  # type: ignore[arg-type]
    assert len(seen) == 9
    assert [run.answers for run in runs] == [[("ack", None)]] * 3
    assert worker._held == {}
