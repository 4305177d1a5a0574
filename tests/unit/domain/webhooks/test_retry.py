from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from domain.webhooks.retry import (
    DEFAULT_SCHEDULE_S,
    SEED_SCHEDULE_S,
    RetryPolicy,
    Verdict,
    parse_schedule,
    retry_after_s,
    verdict,
)


def test_the_default_schedule_outlasts_a_day_and_the_seed_one_does_not() -> None:
    assert DEFAULT_SCHEDULE_S == (5, 30, 300, 1800, 7200, 18000, 36000, 36000)
    assert sum(DEFAULT_SCHEDULE_S) > 86_400
    assert sum(SEED_SCHEDULE_S) < 600  # a ten-minute deploy outlasts it
    assert RetryPolicy().max_attempts == 9
    assert RetryPolicy(SEED_SCHEDULE_S).max_attempts == 4


@pytest.mark.parametrize("attempt", range(1, 9))
def test_delays_follow_the_schedule_within_the_jitter(attempt: int) -> None:
    policy = RetryPolicy()
    base = DEFAULT_SCHEDULE_S[attempt - 1]
    low = policy.delay_s(attempt, None, lambda: 0.0)
    high = policy.delay_s(attempt, None, lambda: 0.999999)
    assert low == pytest.approx(base * 0.8)
    assert high == pytest.approx(base * 1.2, rel=1e-5)


def test_a_longer_retry_after_wins_and_a_shorter_one_does_not() -> None:
    policy = RetryPolicy()
    assert policy.delay_s(1, 120, lambda: 0.5) == 120
    assert policy.delay_s(3, 10, lambda: 0.5) == 300


@pytest.mark.parametrize(("status", "attempt", "expected"), [
    (200, 1, Verdict.SUCCEEDED), (204, 9, Verdict.SUCCEEDED),
    (410, 1, Verdict.GONE), (500, 1, Verdict.RETRY), (301, 1, Verdict.RETRY),
    (None, 8, Verdict.RETRY), (None, 9, Verdict.FAILED), (429, 9, Verdict.FAILED),
])
def test_verdicts(status: int | None, attempt: int, expected: Verdict) -> None:
    assert verdict(status, attempt, RetryPolicy()) == expected


def test_retry_after_is_read_on_429_and_503_only() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_s(429, "30", now) == 30
    assert retry_after_s(503, format_datetime(now + timedelta(minutes=2), usegmt=True),
                         now) == 120
    assert retry_after_s(500, "30", now) is None
    assert retry_after_s(503, "soon", now) is None
    assert retry_after_s(429, None, now) is None


def test_schedules_from_configuration() -> None:
    assert parse_schedule("5, 30,300") == SEED_SCHEDULE_S
    for bad in ("", "a,b", "-1", ",".join(["1"] * 21), "100000"):
        with pytest.raises(ValueError):
            parse_schedule(bad)
