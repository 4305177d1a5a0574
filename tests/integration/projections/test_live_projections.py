"""Relay and projection builders over real NATS JetStream: after a mixed
workload the live read models equal, row for row, a rebuild from the store."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from uuid import UUID

from psycopg import sql

from adapters.bootstrap.container import Container
from adapters.bootstrap.workers import run_workers
from adapters.jetstream.runs import SHARED_RUNS
from adapters.projector.rebuild import rebuild
from adapters.projector.status import statuses
from application.delivery.outcomes import Outcome, OutcomeKind
from application.sending.send import BulkRecipient, SendBulk, SendMessage
from domain.messaging.status import MessageStatus
from domain.wallet import TopUpSource
from projections.registry import ALL_PROJECTIONS
from tests.support.bus import isolated_bus, jetstream

CATCH_UP_TIMEOUT_S = 60


def _rebuild_all(container: Container) -> None:
    for projection in ALL_PROJECTIONS:
        rebuild(projection, container.pool, container.app.recorder, container.app.mapper)


def _mixed_workload(container: Container) -> str:
    """Returns the account it works in."""
    profile = container.accounts.create_account("Live Ltd", "GBP", "GH")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(live, 20_000_000, TopUpSource.STRIPE, "cs_live")
    container.wallets.top_up(live, 1_000_000, TopUpSource.BONUS, "welcome")
    container.wallets.adjust(live, -250_000, "correction", "ticket-9")
    bulk = container.messaging.send_bulk(SendBulk(
        profile.account_id, [BulkRecipient(f"+2332012{i:05d}") for i in range(40)],
        "Acme", "hi", client_ref="live-batch"))
    single = container.messaging.send(
        SendMessage(profile.account_id, "0201234567", "Acme", "one", client_ref="one"))
    message_ids = _campaign_messages(container, bulk.batch_id)
    outcomes = [Outcome(m, OutcomeKind.SUBMITTED, "sim", f"c-{i}")
                for i, m in enumerate(message_ids[:30])]
    outcomes += [Outcome(m, OutcomeKind.REPORTED, carrier_status="DELIVRD",
                         status=MessageStatus.DELIVERED) for m in message_ids[:20]]
    outcomes += [Outcome(m, OutcomeKind.REPORTED, carrier_status="UNDELIV",
                         status=MessageStatus.FAILED, error_code="001")
                 for m in message_ids[20:25]]
    outcomes += [Outcome(m, OutcomeKind.REJECTED, error_code="88", reason="barred")
                 for m in message_ids[30:33]]
    outcomes += [Outcome(m, OutcomeKind.EXPIRED) for m in message_ids[33:35]]
    outcomes += [Outcome(m, OutcomeKind.CANCELLED) for m in message_ids[35:37]]
    outcomes += [Outcome(single.message_id, OutcomeKind.SUBMITTED, "sim", "c-single")]
    container.outcomes.record(outcomes)
    return profile.account_id


def _campaign_messages(container: Container, batch_id: UUID) -> list[UUID]:
    from eventsourcing.utils import get_topic

    from domain.message import Message

    head = container.app.recorder.max_notification_id() or 0
    found = []
    for n in container.app.recorder.select_notifications(
        max(1, head - 200), 300, topics=[get_topic(Message.Accepted)]
    ):
        event = container.app.mapper.to_domain_event(n)
        if event.campaign_id == batch_id:
            found.append(event.originator_id)
    return found


def _tables_snapshot(container: Container) -> dict[str, list[tuple[object, ...]]]:
    snapshot = {}
    with container.pool.connection() as conn:
        for projection in ALL_PROJECTIONS:
            for table in projection.tables:
                rows = conn.execute(
                    sql.SQL("SELECT * FROM {} ORDER BY 1, 2, 3").format(sql.Identifier(table))
                ).fetchall()
                snapshot[table] = sorted(rows, key=repr)
    return snapshot


async def _run_until_caught_up(container: Container) -> int:
    """Runs the relay and the projections until they are caught up;
    returns how many messages the stream then holds."""
    async with jetstream(container) as js:
        stop = asyncio.Event()
        workers = asyncio.create_task(run_workers(container, stop))
        deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                rows = await asyncio.to_thread(
                    statuses, ALL_PROJECTIONS, container.pool, container.app.recorder,
                    container.app.mapper, container.app.recorder.events_table_name,
                )
                if all(row.lag_events == 0 for row in rows):
                    info = await js.stream_info(container.settings.bus.stream_name)
                    return int(info.state.messages)
            raise AssertionError(f"projections did not catch up: {rows}")
        finally:
            stop.set()
            await workers


def test_live_read_models_equal_a_rebuild_after_a_mixed_workload(
    container: Container, nats_url: str
) -> None:
    bus_container = isolated_bus(replace(container, nats_url=nats_url))
    _rebuild_all(bus_container)  # start from the store's current state
    account_id = _mixed_workload(bus_container)
    decoded_before = SHARED_RUNS.decoded
    published = asyncio.run(_run_until_caught_up(bus_container))
    # Six projections read these runs in one process; each is decoded once.
    assert 0 < SHARED_RUNS.decoded - decoded_before <= published
    live = _tables_snapshot(bus_container)
    with bus_container.pool.connection() as conn:
        statuses_seen = dict(conn.execute(
            "SELECT status, count(*) FROM rm_message_log WHERE client_ref = 'live-batch'"
            " AND account_id = %s GROUP BY status", (account_id,)).fetchall())
    assert statuses_seen == {"delivered": 20, "failed": 5, "sent": 5, "rejected": 3,
                             "expired": 2, "cancelled": 2, "queued": 3}
    _rebuild_all(bus_container)
    rebuilt = _tables_snapshot(bus_container)
    for table in live:
        assert live[table] == rebuilt[table], table
