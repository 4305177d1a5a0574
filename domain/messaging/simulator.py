"""The simulated carrier's rules: what it does with a message.

Some destinations have fixed outcomes, so that an integration can exercise
every path:

| destination     | outcome                                            |
|-----------------|----------------------------------------------------|
| +15005550001    | failed: receipt UNDELIV, err 001                   |
| +15005550002    | expired: receipt EXPIRED                           |
| +15005550003    | rejected at submit: no carrier id, error 0x45      |
| +15005550004    | no receipt ever: settled by the route's policy     |
| any other       | DELIVRD, or UNDELIV for a seeded share of numbers  |

The seeded share is decided from the message id and the seed, so the same
message always gets the same outcome. Two parties follow these rules: the
simulated carrier (adapters/carriers/simulated.py), which reports after a
delay, and the sandbox, which settles a message at once when it accepts it
(domain/messaging/sandbox.py). So a magic number means the same thing in both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from uuid import UUID

FAILED_NUMBER = "+15005550001"
EXPIRED_NUMBER = "+15005550002"
REJECTED_NUMBER = "+15005550003"
SILENT_NUMBER = "+15005550004"
REJECTION_ERROR_CODE = "0x00000045"
REJECTION_REASON = "simulated rejection"


@dataclass(frozen=True, slots=True)
class SimulatedReceipt:
    carrier_state: str  # the receipt's stat word: DELIVRD, UNDELIV, EXPIRED
    error_code: str


@dataclass(frozen=True, slots=True)
class SimulatedOutcome:
    """Refused at submit (`accepted` False), or taken and then reported by
    `receipt`; a receipt of None is never sent."""

    accepted: bool
    receipt: SimulatedReceipt | None


DELIVERED = SimulatedReceipt("DELIVRD", "000")
UNDELIVERED = SimulatedReceipt("UNDELIV", "001")
_FIXED: dict[str, SimulatedOutcome] = {
    FAILED_NUMBER: SimulatedOutcome(True, UNDELIVERED),
    EXPIRED_NUMBER: SimulatedOutcome(True, SimulatedReceipt("EXPIRED", "000")),
    REJECTED_NUMBER: SimulatedOutcome(False, None),
    SILENT_NUMBER: SimulatedOutcome(True, None),
}
_DELIVERS = SimulatedOutcome(True, DELIVERED)
_FAILS = SimulatedOutcome(True, UNDELIVERED)


def simulated_outcome(
    message_id: UUID, destination: str, *, failure_share: float, seed: str
) -> SimulatedOutcome:
    """What the simulator does with this message; `failure_share` (0 to 1)
    of the numbers without a fixed outcome fail."""
    assert 0 <= failure_share <= 1
    fixed = _FIXED.get(destination)
    if fixed is not None:
        return fixed
    if not failure_share:
        return _DELIVERS  # spares the hash on the sandbox's every message
    digest = hashlib.sha256(f"{seed}/{message_id}".encode()).digest()
    share = int.from_bytes(digest[:4], "big") / 2**32
    return _FAILS if share < failure_share else _DELIVERS
