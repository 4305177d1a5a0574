"""The sandbox settles its messages in the transaction that accepts them.

A sandbox message costs nothing and never reaches a carrier: what becomes of
it is decided by the simulator's rules alone (domain/messaging/simulator.py,
without random failures), so there is nothing to wait for. The send that
accepts it also records what the sandbox's simulator did with it (taken and
reported, or refused at submit), and answers with the status the stored
message then has: `delivered`, or `failed`, `expired` or `rejected` for the
magic numbers. The dispatcher later skips it, as it skips every message that
is no longer waiting; the events are the ones the dispatcher would have
recorded, so webhooks and read models see a sandbox message as before.

Two kinds of sandbox message are left to the dispatcher, which submits them
to the sandbox's simulated carrier: a scheduled one (it must wait until it
is due) and one to the number that is never reported (a receipt that never
comes cannot be recorded at once; the route's policy settles it).
"""

from __future__ import annotations

from uuid import UUID

from domain.messaging.receipts import status_for_carrier_state
from domain.messaging.simulator import SimulatedOutcome, simulated_outcome
from domain.messaging.status import MessageStatus

# The carrier the sandbox's messages are recorded as taken by; the
# dispatcher's route for sandbox messages uses a simulator of this name.
SANDBOX_CARRIER = "sandbox"
_SEED = "sandbox"  # unused without random failures, but the rules take one


def sandbox_outcome(message_id: UUID, destination: str) -> SimulatedOutcome | None:
    """What the sandbox's simulator does with a message sent now, or None
    when that cannot be settled at once (no receipt will ever come)."""
    outcome = simulated_outcome(message_id, destination, failure_share=0.0, seed=_SEED)
    if outcome.accepted and outcome.receipt is None:
        return None
    return outcome


def sandbox_carrier_id(message_id: UUID) -> str:
    """The sandbox simulator's id for a message it took: derived, so that
    the same message always has the same one."""
    return f"sandbox-{message_id.hex}"


def settled_status(outcome: SimulatedOutcome) -> MessageStatus:
    """The status a message settled by this outcome has."""
    if not outcome.accepted:
        return MessageStatus.REJECTED
    assert outcome.receipt is not None, "a message never reported is left to the dispatcher"
    return status_for_carrier_state(outcome.receipt.carrier_state)
