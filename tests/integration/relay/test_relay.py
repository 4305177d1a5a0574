"""The relay on real PostgreSQL and NATS JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.persistence import Mapper
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from adapters.bootstrap.container import Container
from adapters.eventstore.envelopes import envelopes_of
from adapters.eventstore.mapper import MsgspecMapper
from adapters.jetstream.batches import decode_envelopes
from adapters.relay.positions import RelayPositions
from adapters.relay.relay import RELAY_NAME, Relay
from application.sending.send import BulkRecipient, SendBulk, SendMessage
from domain.published import Envelope
from domain.wallet import TopUpSource
from tests.support.bus import isolated_bus, jetstream


@pytest.fixture
def bus_container(container: Container, nats_url: str) -> Iterator[Container]:
    yield isolated_bus(replace(container, nats_url=nats_url))


def _workload(container: Container) -> None:
    profile = container.accounts.create_account("Relay Ltd", "GBP", "GB")
    live, _ = container.wallets.open_wallets(profile.account_id, "GBP")
    container.wallets.top_up(live, 50_000_000, TopUpSource.STRIPE, "cs_relay")
    container.messaging.send_bulk(SendBulk(
        profile.account_id, [BulkRecipient(f"+4477009{i:05d}") for i in range(700)],
        "Acme", "hi"))
    for i in range(5):
        container.messaging.send(SendMessage(profile.account_id, f"+4477008{i:05d}", "Acme", "x"))


async def _drain(relay: Relay, container: Container) -> None:
    head = container.app.recorder.max_notification_id() or 0
    for _ in range(1000):
        if relay.stats.position >= head:
            return
        await relay.relay_section()
    raise AssertionError("relay did not reach the head of the log")


async def _read_all(js: JetStreamContext, container: Container) -> list[Envelope]:
    stream = container.settings.bus.stream_name
    info = await js.stream_info(stream)
    sub = await js.pull_subscribe(
        f"{container.settings.bus.subject_prefix}.>", durable=None, stream=stream,
        config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL))
    envelopes: list[Envelope] = []
    read = 0
    while read < info.state.messages:
        for msg in await sub.fetch(500, timeout=5):
            read += 1
            run = decode_envelopes(msg.data)
            assert len({e.type for e in run}) == 1, "a message carries one type"
            assert msg.subject == f"{container.settings.bus.subject_prefix}.{run[0].type}"
            first, last = run[0].id, run[-1].id
            expected_id = str(first) if len(run) == 1 else f"{first}-{last}"
            assert (msg.headers or {}).get("Nats-Msg-Id") == expected_id
            envelopes.extend(run)
    assert read < len(envelopes), "runs of one type travel in one message"
    return envelopes


def _table(container: Container) -> str:
    return str(container.app.recorder.events_table_name)  # type: ignore[attr-defined]


def _relay(container: Container, js: JetStreamContext) -> Relay:
    return Relay(container.pool, _table(container), container.app.mapper, js,
                 RelayPositions(container.pool),
                 subject_prefix=container.settings.bus.subject_prefix, section_size=500)


def _reset_position(container: Container) -> None:
    with container.pool.connection() as conn:
        conn.execute("DELETE FROM relay_positions WHERE name = %s", (RELAY_NAME,))


def test_every_event_arrives_once_in_order(bus_container: Container) -> None:
    _reset_position(bus_container)
    _workload(bus_container)

    async def scenario() -> list[Envelope]:
        async with jetstream(bus_container) as js:
            relay = _relay(bus_container, js)
            relay.stats.position = 0
            await _drain(relay, bus_container)
            return await _read_all(js, bus_container)

    envelopes = asyncio.run(scenario())
    ids = [e.id for e in envelopes]
    assert ids == sorted(set(ids)), "ids are unique and in log order"
    assert {e.type for e in envelopes} >= {"wallet.opened", "wallet.topped_up",
                                           "message.accepted", "campaign.started"}
    assert sum(e.type == "message.accepted" for e in envelopes) >= 705
    versions = defaultdict(list)
    for envelope in envelopes:
        versions[envelope.aggregate_id].append(envelope.aggregate_version)
    assert all(v == sorted(v) and len(v) == len(set(v)) for v in versions.values())
    assert all(e.account_id for e in envelopes)


@contextlib.contextmanager
def _copy_of_log(
    container: Container, after: int, keep: Callable[[int], bool],
    state: Callable[[bytes], bytes],
) -> Iterator[str]:
    """A table shaped like the events table, holding the events after `after`
    whose ids `keep` keeps, with their states passed through `state`. The rows
    are stored newest first, so only the relay's ORDER BY yields log order."""
    copy = f"relay_copy_{uuid.uuid4().hex[:12]}"
    with container.pool.connection() as conn:
        rows = conn.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state"
            f" FROM {_table(container)} WHERE notification_id > %s"
            f" ORDER BY notification_id DESC", (after,)).fetchall()
        conn.execute(f"CREATE TABLE {copy} (LIKE {_table(container)} INCLUDING DEFAULTS)")
        with conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {copy} (notification_id, originator_id, originator_version,"
                f" topic, state) VALUES (%s, %s, %s, %s, %s)",
                [(i, o, v, t, state(s)) for i, o, v, t, s in rows if keep(i)])
    try:
        yield copy
    finally:
        with container.pool.connection() as conn:
            conn.execute(f"DROP TABLE {copy}")


def _kept(notification_id: int) -> bool:
    """Every fifth id left out: gaps in the log, as rolled-back inserts leave."""
    return notification_id % 5 != 0


def _compressing(container: Container) -> Mapper:  # type: ignore[type-arg]
    return MsgspecMapper(container.app.mapper.transcoder, compressor=ZlibCompressor())


@pytest.mark.parametrize(("state", "mapper"), [
    (bytes, lambda container: container.app.mapper),
    (zlib.compress, _compressing),  # decoded through domain events
], ids=["plain", "compressed"])
def test_the_relay_publishes_the_log_in_order_across_gaps_and_sections(
    bus_container: Container, state: Callable[[bytes], bytes],
    mapper: Callable[[Container], Mapper],  # type: ignore[type-arg]
) -> None:
    after = bus_container.app.recorder.max_notification_id() or 0
    _workload(bus_container)
    stored = [n for n in bus_container.app.recorder.select_notifications(after + 1, 1_000_000)
              if _kept(n.id)]
    expected = envelopes_of(bus_container.app.mapper, stored)

    async def scenario(table: str) -> tuple[list[Envelope], int]:
        async with jetstream(bus_container) as js:
            relay = Relay(bus_container.pool, table, mapper(bus_container), js,
                          RelayPositions(bus_container.pool),
                          subject_prefix=bus_container.settings.bus.subject_prefix,
                          section_size=7)  # sections that cut runs and gaps anywhere
            relay.stats.position = after
            for _ in range(1000):
                if await relay.relay_section() == 0:
                    return await _read_all(js, bus_container), relay.stats.position
            raise AssertionError("the relay never found the end of the log")

    with _copy_of_log(bus_container, after, _kept, state) as table:
        published, position = asyncio.run(scenario(table))
    assert [e.id for e in published] == [e.id for e in expected]
    assert published == expected
    assert position == stored[-1].id


def test_a_crash_before_saving_the_position_duplicates_nothing(
    bus_container: Container,
) -> None:
    _reset_position(bus_container)
    _workload(bus_container)

    class CrashingPositions(RelayPositions):
        def save(self, name: str, position: int) -> None:
            raise RuntimeError("killed between the PubAck and the position save")

    async def scenario() -> tuple[int, int, int]:
        async with jetstream(bus_container) as js:
            crashing = Relay(bus_container.pool, _table(bus_container),
                             bus_container.app.mapper, js,
                             CrashingPositions(bus_container.pool),
                             subject_prefix=bus_container.settings.bus.subject_prefix,
                             section_size=500)
            with pytest.raises(RuntimeError):
                await crashing.relay_section()
            published_before_crash = crashing.stats.published
            restarted = _relay(bus_container, js)
            restarted.stats.position = await asyncio.to_thread(
                restarted._positions.load, RELAY_NAME)
            assert restarted.stats.position == 0  # nothing was saved
            await _drain(restarted, bus_container)
            envelopes = await _read_all(js, bus_container)
            return published_before_crash, len(envelopes), len({e.id for e in envelopes})

    _, count, unique = asyncio.run(scenario())
    assert count == unique, "JetStream dropped the republished section"


def test_the_stream_is_declared_idempotently_from_settings(bus_container: Container) -> None:
    from adapters.jetstream.streams import ensure_stream, stream_settings

    async def scenario() -> tuple[float | None, float | None, str]:
        async with jetstream(bus_container) as js:
            settings = stream_settings(bus_container.settings.bus)
            await ensure_stream(js, settings)  # a second declaration changes nothing
            first = (await js.stream_info(settings.name)).config
            longer = replace(settings, max_age_s=settings.max_age_s * 2)
            await ensure_stream(js, longer)
            second = (await js.stream_info(settings.name)).config
            return first.max_age, second.max_age, str(second.storage)

    first_age, second_age, storage = asyncio.run(scenario())
    assert first_age == bus_container.settings.bus.max_age_s
    assert second_age == 2 * first_age
    assert storage.endswith("file")
