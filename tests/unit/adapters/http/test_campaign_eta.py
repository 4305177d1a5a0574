"""The ETA of a sending campaign: what is left, at the rate so far, paused
time not counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.http.campaigns.controller import eta_seconds

NOW = datetime(2026, 3, 15, 8, 0, tzinfo=UTC)


def row(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "status": "sending", "recipients": 10_000, "accepted": 1_900, "rejected": 100,
        "sending_seconds": 30.0, "sending_since": NOW - timedelta(seconds=10),
    }
    return {**base, **changes}


def test_the_rest_at_the_rate_so_far() -> None:
    # 2,000 done in 40 s of sending: 8,000 more take 160 s.
    assert eta_seconds(row(), NOW) == 160


def test_no_eta_unless_sending_with_progress() -> None:
    assert eta_seconds(row(status="paused", sending_since=None), NOW) is None
    assert eta_seconds(row(accepted=0, rejected=0), NOW) is None
    assert eta_seconds(row(accepted=9_900), NOW) is None
