"""The sandbox settles a message as it accepts it, by the simulator's rules."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import pytest

from domain.message import Acceptance, Message
from domain.messaging.recipient import Recipient
from domain.messaging.sandbox import sandbox_outcome, settled_status
from domain.messaging.simulator import (
    DELIVERED,
    EXPIRED_NUMBER,
    FAILED_NUMBER,
    REJECTED_NUMBER,
    SILENT_NUMBER,
    SimulatedOutcome,
    simulated_outcome,
)

OUTCOMES = [("+447700900123", "delivered", "DELIVRD"), (FAILED_NUMBER, "failed", "UNDELIV"),
            (EXPIRED_NUMBER, "expired", "EXPIRED"), (REJECTED_NUMBER, "rejected", "")]


def sandbox_message(destination: str) -> Message:
    recipient = Recipient(uuid4(), destination, "GB", "hello", "GSM-7", 1, 0)
    return Message.accept(recipient, Acceptance(
        account_id="a", wallet_id=uuid4(), campaign_id=None, reservation_id="r",
        sender="Test", currency="GBP", client_ref=None, sandbox=True))


@pytest.mark.parametrize(("destination", "status", "carrier_status"), OUTCOMES)
def test_the_sandbox_settles_by_the_simulators_magic_numbers(
    destination: str, status: str, carrier_status: str
) -> None:
    message = sandbox_message(destination)
    outcome = sandbox_outcome(message.id, destination)
    assert outcome is not None and settled_status(outcome) == status
    message.settle_in_sandbox(outcome)
    assert (message.status, message.carrier_status, message.is_final) == (
        status, carrier_status, True)
    assert message.carrier == ("" if status == "rejected" else "sandbox")


def test_a_number_never_reported_is_not_settled_at_once() -> None:
    assert sandbox_outcome(uuid4(), SILENT_NUMBER) is None


def test_the_sandbox_never_fails_an_ordinary_number() -> None:
    # The live simulator fails a seeded share of them; the sandbox none.
    ids = [uuid4() for _ in range(500)]
    assert any(simulated_outcome(i, "+447700900123", failure_share=0.5, seed="s").receipt
               != DELIVERED for i in ids)
    assert all(sandbox_outcome(i, "+447700900123") == SimulatedOutcome(True, DELIVERED)
               for i in ids)


@pytest.mark.parametrize("destination", [d for d, _, _ in OUTCOMES])
def test_settlement_events_fast_path_equals_the_aggregate_path(destination: str) -> None:
    message = sandbox_message(destination)
    message.collect_events()
    outcome = sandbox_outcome(message.id, destination)
    assert outcome is not None
    message.settle_in_sandbox(outcome)
    slow = message.collect_events()
    fast = Message.sandbox_settlement_events(message.id, account_id="a", outcome=outcome,
                                             timestamp=slow[0].timestamp)

    def without_time(event: Message.Event) -> dict[str, object]:
        state: dict[str, object] = dict(vars(event))
        assert isinstance(state.pop("timestamp"), datetime)
        return state

    assert [type(e) for e in fast] == [type(e) for e in slow]
    assert [without_time(e) for e in fast] == [without_time(e) for e in slow]
