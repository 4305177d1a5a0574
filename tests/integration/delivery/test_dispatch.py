"""The dispatcher and the receipt side on real PostgreSQL, with the simulated
carrier and a clock the test moves."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from adapters.bootstrap.container import Container
from adapters.carriers.simulated import (
    EXPIRED_NUMBER,
    FAILED_NUMBER,
    REJECTED_NUMBER,
    SILENT_NUMBER,
    SimulatedCarrier,
    SimulatorSettings,
)
from adapters.postgres.dispatch import (
    PostgresDispatchClaims,
    PostgresReceiptIndex,
    PostgresReplyRoutes,
)
from application.delivery.carriers import DeliveryReceipt, SubmitRequest, SubmitResult
from application.delivery.carriers import InboundMessage as CarrierInbound
from application.delivery.dispatching import Dispatcher
from application.delivery.receipts import ReceiptProcessor
from application.delivery.routing import ReceiptPolicy, Route, RouteBook
from application.errors import OutcomeUnknown
from application.sending.send import SendMessage
from domain import ids
from domain.messaging.status import MessageStatus
from domain.wallet import TopUpSource


@dataclass
class FakeClock:
    current: datetime = field(default_factory=lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return time.monotonic()

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@dataclass
class Rig:
    container: Container
    clock: FakeClock
    dispatcher: Dispatcher
    receipts: ReceiptProcessor
    carrier: SimulatedCarrier
    received: list[DeliveryReceipt]
    account_id: str

    def send(self, to: str, **kwargs: object) -> UUID:
        sent = self.container.messaging.send(
            SendMessage(self.account_id, to, "Acme", "hello", **kwargs))  # type: ignore[arg-type]
        return sent.message_id

    def dispatch(self, *message_ids: UUID) -> dict[UUID, float | None]:
        return asyncio.run(self._dispatch_and_settle_receipts(list(message_ids)))

    async def _dispatch_and_settle_receipts(self, message_ids: list[UUID]) -> dict:
        async def collect(receipt: DeliveryReceipt) -> None:
            self.received.append(receipt)

        await self.carrier.start(collect, collect)  # type: ignore[arg-type]
        decisions = await self.dispatcher.dispatch(message_ids)
        await asyncio.sleep(0.05)  # the simulator's receipts, at zero delay
        await self.carrier.stop()
        return decisions

    def status(self, message_id: UUID) -> str:
        return str(self.container.app.repository.get(message_id).status)

    def balance(self):
        wallet_id = ids.wallet_id(self.account_id, sandbox=False)
        self.container.app.forget_wallet(wallet_id)
        return self.container.wallets.balance(wallet_id)


def _rig(container: Container, route: Route) -> Rig:
    profile = container.accounts.create_account("Dispatch Ltd", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(live, 10_000_000, TopUpSource.STRIPE, f"cs_{uuid4()}")
    clock = FakeClock()
    carrier = SimulatedCarrier(SimulatorSettings(receipt_delay_s=0.0, failure_share=0.0))
    index = PostgresReceiptIndex(container.pool)
    dispatcher = Dispatcher(
        container.app, container.outcomes, RouteBook([route]), {"simulated": carrier},
        PostgresDispatchClaims(container.pool), index, clock,
        replies=PostgresReplyRoutes(container.pool), owner="test",
    )
    return Rig(container, clock, dispatcher, ReceiptProcessor(container.outcomes, index, clock),
               carrier, [], profile.account_id)


DEFAULT_ROUTE = Route("test", "+", "simulated", 1000.0, ReceiptPolicy.RECEIPTS, 10, False)


@pytest.fixture
def rig(container: Container) -> Iterator[Rig]:
    yield _rig(container, DEFAULT_ROUTE)


def test_every_simulated_outcome_settles_its_money(rig: Rig) -> None:
    numbers = ["+447700900123", FAILED_NUMBER, EXPIRED_NUMBER, REJECTED_NUMBER, SILENT_NUMBER]
    messages = [rig.send(number) for number in numbers]
    decisions = rig.dispatch(*messages)
    assert set(decisions.values()) == {None}
    rig.receipts.process(rig.received)
    statuses = [rig.status(m) for m in messages]
    assert statuses == ["delivered", "failed", "expired", "rejected", "sent"]
    prices = [rig.container.app.repository.get(m).price_micros for m in messages]
    balance = rig.balance()
    assert balance.reserved_micros == prices[4]  # only the silent one still held
    assert balance.balance_micros == 10_000_000 - prices[0]  # only delivered captured
    rig.clock.advance(minutes=2880 + DEFAULT_ROUTE.grace_minutes + 1)
    assert rig.receipts.settle_silent() >= 1
    assert rig.status(messages[4]) == "expired"
    assert rig.balance().reserved_micros == 0
    report = rig.container.verifier.verify()
    assert report.ok, report.problems


def test_a_silent_carrier_is_settled_by_a_capturing_policy(container: Container) -> None:
    route = Route("capture", "+", "simulated", 1000.0, ReceiptPolicy.RECEIPTS, 0, True)
    rig = _rig(container, route)
    message = rig.send(SILENT_NUMBER)
    rig.dispatch(message)
    rig.clock.advance(minutes=2881)
    rig.receipts.settle_silent()
    price = container.app.repository.get(message).price_micros
    assert rig.status(message) == "expired"
    assert rig.balance().balance_micros == 10_000_000 - price


def test_routes_without_receipts_capture_on_submit(container: Container) -> None:
    route = Route("blind", "+", "simulated", 1000.0, ReceiptPolicy.NONE, 0, False)
    rig = _rig(container, route)
    message = rig.send("+447700900123")
    rig.dispatch(message)
    assert rig.received == []  # no receipt asked for
    price = container.app.repository.get(message).price_micros
    assert rig.status(message) == "sent"
    balance = rig.balance()
    assert (balance.reserved_micros, balance.balance_micros) == (0, 10_000_000 - price)


def test_a_scheduled_message_waits_until_due(rig: Rig) -> None:
    due = rig.clock.now() + timedelta(minutes=10)
    message = rig.send("+447700900123", scheduled_at=due)
    assert rig.status(message) == "scheduled"
    delay_s = rig.dispatch(message)[message]
    assert delay_s == pytest.approx(600, abs=1)
    rig.clock.advance(minutes=10, seconds=1)
    assert rig.dispatch(message)[message] is None
    assert rig.status(message) in ("sent", "delivered")


def test_a_message_past_its_validity_expires_unsent_and_is_released(rig: Rig) -> None:
    message = rig.send("+447700900123", validity_minutes=5)
    rig.clock.advance(minutes=6)
    rig.dispatch(message)
    assert rig.status(message) == "expired"
    assert rig.received == []
    assert rig.balance().reserved_micros == 0


def test_a_redelivered_message_is_never_submitted_twice(rig: Rig) -> None:
    message = rig.send("+447700900123")
    rig.dispatch(message)
    rig.dispatch(message)  # JetStream redelivers after a lost ack
    assert len(rig.received) == 1
    rig.receipts.process(rig.received)
    assert rig.status(message) == "delivered"


def test_another_dispatchers_claim_holds_the_message_back(rig: Rig) -> None:
    message = rig.send("+447700900123")
    assert PostgresDispatchClaims(rig.container.pool).claim([message], "other", 60) == {message}
    delay_s = rig.dispatch(message)[message]
    from application.delivery.dispatching import CLAIMED_ELSEWHERE_S

    assert delay_s == CLAIMED_ELSEWHERE_S
    assert rig.status(message) == "queued"


def test_a_receipt_before_the_submission_is_parked_then_applied(rig: Rig) -> None:
    message = rig.send("+447700900123")
    rig.dispatch(message)
    receipt = rig.received[0]
    index = PostgresReceiptIndex(rig.container.pool)
    # Pretend the receipt overtook our record of the submission.
    entry = index.find("simulated", [receipt.carrier_message_id])
    index.remove(list(entry.values()))
    assert rig.receipts.process([receipt]).parked == 1
    assert rig.status(message) == "sent"
    from application.delivery.ports import AwaitedReceipt

    index.add([AwaitedReceipt(message, "simulated", receipt.carrier_message_id,
                              rig.clock.now() + timedelta(days=3), False)])
    assert rig.receipts.retry_parked().applied == 1
    assert rig.status(message) == "delivered"
    assert rig.receipts.retry_parked().applied == 0  # unparked once applied


class RecordingCarrier:
    name = "recording"

    def __init__(self) -> None:
        self.times_s: list[float] = []

    async def start(self, on_receipt, on_inbound) -> None:
        return None

    async def submit(self, request: SubmitRequest) -> SubmitResult:
        self.times_s.append(time.monotonic())
        return SubmitResult(True, carrier_message_id=f"r-{request.message_id}")

    async def stop(self) -> None:
        return None


def test_a_route_is_held_to_its_rate_while_a_backlog_waits(container: Container) -> None:
    rate = 40.0
    route = Route("slow", "+", "recording", rate, ReceiptPolicy.NONE, 0, False)
    rig = _rig(container, route)
    carrier = RecordingCarrier()
    rig.dispatcher._carriers = {"recording": carrier}
    messages = [rig.send(f"+4477009{i:05d}") for i in range(120)]
    rig.dispatch(*messages)
    times = sorted(carrier.times_s)
    measured = (len(times) - 1) / (times[-1] - times[0])
    assert measured <= rate * 1.0 + 1e-6, measured
    assert measured >= rate * 0.9, measured
    assert {rig.status(m) for m in messages} == {str(MessageStatus.SENT)}


def test_a_rejection_settles_after_another_process_reserved_on_the_wallet(
    rig: Rig, database_url: str
) -> None:
    """The API and the dispatcher are separate processes with their own
    wallet caches. A reservation the API made after the dispatcher last
    settled on the wallet must still be found when its message settles."""
    from adapters.bootstrap.container import build
    from adapters.config.settings import Settings

    api = build(Settings.from_env({}), database_url)
    try:
        def send_from_api() -> UUID:
            return api.messaging.send(
                SendMessage(rig.account_id, REJECTED_NUMBER, "Acme", "hello")).message_id

        first = send_from_api()
        assert rig.dispatch(first) == {first: None}
        assert rig.status(first) == "rejected"
        second = send_from_api()  # the dispatcher's cached wallet has not seen it
        assert rig.dispatch(second) == {second: None}
        assert rig.status(second) == "rejected"
        assert rig.balance().reserved_micros == 0
        report = rig.container.verifier.verify()
        assert report.ok, report.problems
    finally:
        api.close()


def test_stale_parked_receipts_do_not_hold_back_a_fresh_one(rig: Rig) -> None:
    """More unmatchable receipts than one retry reads, parked first, must not
    keep a receipt whose message is known now from being applied."""
    from application.delivery.receipts import SWEEP_BATCH

    index = PostgresReceiptIndex(rig.container.pool)
    stale = [DeliveryReceipt("simulated", f"nobody-{uuid4()}", "DELIVRD", "", None, "stale")
             for _ in range(SWEEP_BATCH + 10)]
    index.park(stale, rig.clock.now())
    try:
        _a_fresh_receipt_is_applied_behind_stale_ones(rig, index)
    finally:
        with rig.container.pool.connection() as conn:
            conn.execute("DELETE FROM parked_receipts WHERE raw = 'stale'")


def _a_fresh_receipt_is_applied_behind_stale_ones(rig: Rig, index) -> None:
    message = rig.send("+447700900123")
    rig.dispatch(message)
    receipt = rig.received[0]
    entry = index.find("simulated", [receipt.carrier_message_id])
    index.remove(list(entry.values()))
    assert rig.receipts.process([receipt]).parked == 1  # overtook our record of the submit
    from application.delivery.ports import AwaitedReceipt

    index.add([AwaitedReceipt(message, "simulated", receipt.carrier_message_id,
                              rig.clock.now() + timedelta(days=3), False)])
    assert rig.receipts.retry_parked().applied == 1
    assert rig.status(message) == "delivered"


def test_a_receipt_that_never_matches_is_dropped_after_its_parking_time(rig: Rig) -> None:
    from application.delivery.receipts import PARK_FOR_S

    index = PostgresReceiptIndex(rig.container.pool)
    orphan = DeliveryReceipt("simulated", f"orphan-{uuid4()}", "DELIVRD", "", None, "orphan")
    index.park([orphan], rig.clock.now() - timedelta(seconds=PARK_FOR_S - 1))
    rig.receipts.retry_parked()

    def still_parked() -> bool:
        with rig.container.pool.connection() as conn:
            return conn.execute("SELECT count(*) FROM parked_receipts WHERE carrier_message_id"
                                " = %s", (orphan.carrier_message_id,)).fetchone()[0] == 1

    assert still_parked()
    rig.clock.advance(seconds=2)
    assert rig.receipts.retry_parked().parked >= 1
    assert not still_parked()


class FlakyOutcomes:
    """The outcome service with its database failing the first `failures`
    saves, as during a PostgreSQL outage."""

    def __init__(self, real, failures: int, error: Exception | None = None) -> None:
        self._real = real
        self.failures = failures
        self.calls = 0
        self._error = error or ConnectionError("the database went away")

    def record(self, outcomes, *, loaded=None):
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise self._error
        return self._real.record(outcomes, loaded=loaded)


class CountingCarrier(RecordingCarrier):
    name = "counting"

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[UUID] = []

    async def submit(self, request: SubmitRequest) -> SubmitResult:
        self.submitted.append(request.message_id)
        return await super().submit(request)


def _counting_rig(
    container: Container, failures: int, error: Exception | None = None
) -> tuple[Rig, CountingCarrier, FlakyOutcomes]:
    route = Route("counted", "+", "counting", 1000.0, ReceiptPolicy.RECEIPTS, 10, False)
    rig = _rig(container, route)
    carrier = CountingCarrier()
    flaky = FlakyOutcomes(container.outcomes, failures, error)
    rig.dispatcher._carriers = {"counting": carrier}
    rig.dispatcher._outcomes = flaky
    return rig, carrier, flaky


@pytest.mark.parametrize("error", [
    ConnectionError("the database went away"),
    # What the store raises when the connection drops after the commit was sent.
    OutcomeUnknown("The connection to the database was lost"),
], ids=["connection", "outcome-unknown"])
def test_a_failed_save_is_retried_and_never_submits_again(
    container: Container, error: Exception
) -> None:
    """The carrier took the messages; the database failed the save. The
    carrier's ids wait in memory until a save succeeds: nothing is handed
    to the carrier twice, however the redelivery falls."""
    rig, carrier, flaky = _counting_rig(container, failures=3, error=error)
    messages = [rig.send(f"+4477009{i:05d}") for i in range(5)]
    decisions = rig.dispatch(*messages)
    assert decisions == dict.fromkeys(messages)  # done with: ack
    assert flaky.calls == 4
    assert sorted(carrier.submitted) == sorted(messages)
    assert {rig.status(m) for m in messages} == {"sent"}
    rig.dispatch(*messages)  # a redelivery changes nothing
    assert len(carrier.submitted) == 5


def test_a_message_cancelled_while_the_carrier_took_it_does_not_block_the_rest(
    container: Container,
) -> None:
    rig, _, _ = _counting_rig(container, failures=0)
    messages = [rig.send(f"+4477009{i:05d}") for i in range(3)]

    class CancelOnSubmit(CountingCarrier):
        async def submit(self, request: SubmitRequest) -> SubmitResult:
            if request.message_id == messages[0]:
                await asyncio.to_thread(
                    container.outcomes.cancel, rig.account_id, messages[0], sandbox=False)
            return await super().submit(request)

    racing = CancelOnSubmit()
    rig.dispatcher._carriers = {"counting": racing}
    assert rig.dispatch(*messages) == dict.fromkeys(messages)
    assert [rig.status(m) for m in messages] == ["cancelled", "sent", "sent"]
    assert rig.container.verifier.verify().ok


def test_a_reply_goes_to_the_account_whose_message_was_last_handed_to_a_carrier(
    container: Container,
) -> None:
    # No projection runs here: the route of a reply is the write side's own.
    number, never_sent = (f"+44770{uuid4().int % 10**7:07d}" for _ in range(2))
    first, second = _rig(container, DEFAULT_ROUTE), _rig(container, DEFAULT_ROUTE)
    for rig in (first, second):
        rig.dispatch(rig.send(number))
    reply = CarrierInbound("simulated", number, "Acme", "thanks", datetime.now(UTC))
    inbound_id = container.inbound.receive(reply)
    assert inbound_id is not None
    assert container.app.repository.get(inbound_id).account_id == second.account_id
    unknown = CarrierInbound("simulated", never_sent, "Acme", "who?", datetime.now(UTC))
    assert container.inbound.receive(unknown) is None
