"""What an attempt's outcome means, and when the next attempt is.

The default schedule (about 5 s, 30 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h:
some 28 hours in all) outlasts a customer's deploy or a night's outage; the
seed's three attempts (5 s, 30 s, 5 min) are one configuration of it, and
lose every event of a ten-minute deploy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

DEFAULT_SCHEDULE_S: tuple[float, ...] = (5, 30, 300, 1800, 7200, 18000, 36000, 36000)
SEED_SCHEDULE_S: tuple[float, ...] = (5, 30, 300)
MAX_SCHEDULE_STEPS = 20
MAX_DELAY_S = 86_400.0
# Each delay is spread by up to this share either way, so that the retries of
# a burst that failed together do not come back together.
JITTER_SHARE = 0.2
HTTP_GONE = 410
HONOURS_RETRY_AFTER = frozenset({429, 503})


class Verdict(StrEnum):
    SUCCEEDED = "succeeded"
    RETRY = "retry"
    FAILED = "failed"  # the schedule is spent
    GONE = "gone"  # 410: the endpoint asked to be removed


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    schedule_s: tuple[float, ...] = DEFAULT_SCHEDULE_S
    jitter_share: float = JITTER_SHARE

    def __post_init__(self) -> None:
        assert 1 <= len(self.schedule_s) <= MAX_SCHEDULE_STEPS
        assert all(0 <= delay <= MAX_DELAY_S for delay in self.schedule_s)
        assert 0 <= self.jitter_share < 1

    @property
    def max_attempts(self) -> int:
        return len(self.schedule_s) + 1

    def delay_s(
        self, attempt: int, retry_after_s: float | None, uniform: Callable[[], float]
    ) -> float:
        """The wait after failed attempt number `attempt` (1-based).
        `uniform` returns a number in [0, 1); a Retry-After wins when longer."""
        assert 1 <= attempt <= len(self.schedule_s)
        base = self.schedule_s[attempt - 1]
        delay = base * (1 + self.jitter_share * (2 * uniform() - 1))
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, MAX_DELAY_S))
        return delay


def verdict(status_code: int | None, attempt: int, policy: RetryPolicy) -> Verdict:
    """A 2xx succeeds; a 410 is gone; anything else (another status, a
    timeout, a refused address: `status_code` None) is retried while the
    schedule lasts."""
    if status_code is not None and 200 <= status_code < 300:
        return Verdict.SUCCEEDED
    if status_code == HTTP_GONE:
        return Verdict.GONE
    if attempt >= policy.max_attempts:
        return Verdict.FAILED
    return Verdict.RETRY


def retry_after_s(status_code: int | None, header: str | None, now: datetime) -> float | None:
    """Seconds asked for by a Retry-After on a 429 or 503 (delta-seconds or
    an HTTP date); None when absent, unreadable or on another status."""
    if status_code not in HONOURS_RETRY_AFTER or not header:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def parse_schedule(text: str) -> tuple[float, ...]:
    """`"5,30,300"` -> (5.0, 30.0, 300.0); raise ValueError on anything else."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not 1 <= len(parts) <= MAX_SCHEDULE_STEPS:
        raise ValueError(f"1 to {MAX_SCHEDULE_STEPS} delays in seconds, comma-separated")
    delays = tuple(float(part) for part in parts)
    if any(not 0 <= delay <= MAX_DELAY_S for delay in delays):
        raise ValueError(f"each delay is 0 to {MAX_DELAY_S:.0f} seconds")
    return delays

