"""`projections status`: each projection's lag in events, counted in one
scan for all of them, equals a count of that projection's own events above
its own position."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.bootstrap.container import Container
from adapters.projector.status import statuses, topics_of
from application.sending.send import BulkRecipient, SendBulk
from domain.wallet import TopUpSource
from projections.registry import ALL_PROJECTIONS


@pytest.fixture
def saved_positions(container: Container) -> Iterator[None]:
    """The database is shared by the run's tests: positions are put back."""
    with container.pool.connection() as conn:
        saved = conn.execute("SELECT name, position FROM projection_positions").fetchall()
    try:
        yield
    finally:
        with container.pool.connection() as conn, conn.transaction():
            conn.execute("DELETE FROM projection_positions WHERE name = ANY(%s)",
                         ([p.name for p in ALL_PROJECTIONS],))
            for name, position in saved:
                conn.execute(
                    "INSERT INTO projection_positions (name, position) VALUES (%s, %s)"
                    " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position",
                    (name, position))


def _set_position(container: Container, name: str, position: int) -> None:
    with container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO projection_positions (name, position) VALUES (%s, %s)"
            " ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position", (name, position))


def _behind(container: Container, topics: list[str], position: int) -> int:
    recorder = container.app.recorder
    head = recorder.max_notification_id() or 0
    found = recorder.select_notifications(position + 1, head + 1, topics=topics)
    return len(found)


def test_each_projection_counts_its_own_events_above_its_own_position(
    container: Container, saved_positions: None
) -> None:
    profile = container.accounts.create_account("Status Ltd", "GBP", "GH")
    wallet, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    start = container.app.recorder.max_notification_id() or 0
    container.wallets.top_up(wallet, 5_000_000, TopUpSource.STRIPE, "cs_status")
    middle = container.app.recorder.max_notification_id() or 0
    container.messaging.send_bulk(SendBulk(
        profile.account_id, [BulkRecipient(f"+2332013{i:05d}") for i in range(25)],
        "Acme", "hi"))
    head = container.app.recorder.max_notification_id() or 0
    # Every projection somewhere else: before the work, inside it, at its end.
    chosen = dict(zip(
        [p.name for p in ALL_PROJECTIONS],
        [start, middle, start + 1, head, middle + 3, start],
        strict=True,
    ))
    for name, position in chosen.items():
        _set_position(container, name, position)

    rows = {row.name: row for row in statuses(
        ALL_PROJECTIONS, container.pool, container.app.recorder, container.app.mapper,
        container.app.recorder.events_table_name,
    )}

    for projection in ALL_PROJECTIONS:
        row = rows[projection.name]
        expected = _behind(container, topics_of(projection), chosen[projection.name])
        assert row.position == chosen[projection.name]
        assert row.lag_events == expected, projection.name
        assert (row.lag_s > 0) == (expected > 0)
    assert rows["message_log"].lag_events >= 25  # the bulk's messages, at least
    assert rows["wallet_transactions"].lag_events == 0  # at the head
