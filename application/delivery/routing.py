"""Routes: which carrier takes a destination, how fast, and what its receipts
are worth. Configured in data; matched by the longest destination prefix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from application.errors import ValidationFailed
from domain.messaging.phone import country_of_prefix
from domain.messaging.sandbox import SANDBOX_CARRIER as SANDBOX_CARRIER

SANDBOX_ROUTE = "sandbox"
SIMULATED_CARRIER = "simulated"
# The sandbox's own simulator (SANDBOX_CARRIER): it reports at once and
# fails only the documented magic numbers. Most sandbox messages are settled
# as they are accepted (domain/messaging/sandbox.py); the route takes the rest.

# The sandbox never reaches a network, so it is throttled only to the
# bound every route has.
SANDBOX_MESSAGES_PER_SECOND = 100_000.0


class ReceiptPolicy(StrEnum):
    RECEIPTS = "receipts"  # the carrier reports delivery: capture on DELIVRD
    NONE = "none"  # the carrier never reports: capture on submit


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    prefix: str  # E.164 prefix, "+" for every destination
    carrier: str
    messages_per_second: float
    receipt_policy: ReceiptPolicy
    grace_minutes: int  # after validity, how long to wait for a final receipt
    capture_on_silence: bool  # policy for a message never reported

    def __post_init__(self) -> None:
        digits = self.prefix[1:]
        if not self.prefix.startswith("+") or (digits and not digits.isdigit()):
            raise ValidationFailed("A route prefix is + followed by digits", prefix=self.prefix)
        if not 0 < self.messages_per_second <= 100_000:
            raise ValidationFailed("A route sends 0 to 100,000 messages per second")

    @property
    def country(self) -> str | None:
        """The country its prefix names (`+44`: GB); None for `+` and the like."""
        return country_of_prefix(self.prefix)


def reply_country(routes: Iterable[Route], carrier: str, route: str | None) -> str | None:
    """The country in which to read national numbers a carrier reports: that
    of the route the report came by, else the one country every route of the
    carrier sends to. None when the routes do not say (`+`, or several)."""
    chosen = list(routes)
    if route is not None:
        named = next((r.country for r in chosen if r.name == route), None)
        if named is not None:
            return named
    countries = {r.country for r in chosen if r.carrier == carrier}
    return countries.pop() if len(countries) == 1 else None


class RouteBook:
    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = sorted(routes, key=lambda r: len(r.prefix), reverse=True)
        self._sandbox = Route(
            SANDBOX_ROUTE, "+", SANDBOX_CARRIER, SANDBOX_MESSAGES_PER_SECOND,
            ReceiptPolicy.RECEIPTS, 60, False,
        )

    def route_for(self, destination: str, *, sandbox: bool) -> Route | None:
        """The longest-prefix route; the sandbox always uses its simulator."""
        if sandbox:
            return self._sandbox
        for route in self._routes:
            if destination.startswith(route.prefix):
                return route
        return None

    @property
    def routes(self) -> list[Route]:
        return [*self._routes, self._sandbox]


class TokenBucket:
    """Holds a route to its messages per second. Time is passed in, so the
    bucket is exact under a test clock and never reads one itself."""

    def __init__(self, rate_per_s: float, burst: float | None = None) -> None:
        assert rate_per_s > 0
        self._rate_per_s = rate_per_s
        # One token of burst: over any window the route never exceeds its rate.
        self._capacity = burst if burst is not None else 1.0
        self._tokens = self._capacity
        self._updated_s: float | None = None

    def reserve(self, now_s: float) -> float:
        """Take one token; return how long to wait before using it."""
        if self._updated_s is None:
            self._updated_s = now_s
        elapsed_s = max(0.0, now_s - self._updated_s)
        self._tokens = min(self._capacity, self._tokens + elapsed_s * self._rate_per_s)
        self._updated_s = now_s
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self._rate_per_s
