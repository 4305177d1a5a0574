"""The relay: tails the event store's notification log in order and publishes
each event to JetStream as a versioned envelope.

Consecutive envelopes of one type travel together, as one message holding a
JSON array (`adapters.jetstream.batches.batches_of`), so the bus carries a bulk of
10,000 messages as a handful of messages. Its position is saved only after
every PubAck of a section has arrived. After
a crash it resumes from the saved position, so it may publish a section twice:
JetStream drops the repeats inside its duplicate window (`Nats-Msg-Id` is the
notification id, or `first-last` for a run), and consumers skip ids at or below their own position
outside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import Mapper
from nats.js import JetStreamContext
from psycopg_pool import ConnectionPool

from adapters.eventstore.envelopes import envelopes_of_rows
from adapters.eventstore.rows import RowQuery
from adapters.jetstream.batches import MSG_ID_HEADER, Batch, batches_of
from adapters.jetstream.subjects import subject_of
from adapters.relay.positions import RelayPositions

log = logging.getLogger(__name__)

RELAY_NAME = "relay"
IDLE_POLL_S = 0.02
PUBLISH_ACK_TIMEOUT_S = 30.0
MAX_BACKOFF_S = 10.0

# The next section of the log: the same rows, order and limit as the
# library's select_notifications(after + 1, limit), read raw. No topic filter:
# envelopes_of_rows skips the events without a published contract, and the
# section still counts them, so the position moves past them.
#
# Tailing by id is safe only because ids are committed in the order they are
# issued: every insert path (the library's, and LedgerRecorder's functions
# and COPY) holds the EXCLUSIVE lock on the events table from before it takes
# ids until it commits, so an id becomes visible only once every lower id has
# been committed or rolled back for good. The guarantee lies with the
# writers: select_notifications is a plain SELECT that takes no lock either,
# so this one, on the same table and connection settings (autocommit, a
# snapshot per statement), sees exactly the rows it would. A gap (the ids of
# a rolled-back insert) is never filled later and is stepped over, as there.
_TAIL = "notification_id > %s ORDER BY notification_id LIMIT %s"


@dataclass(frozen=True, slots=True)
class _Section:
    """A section of the log read after `after`, ready to publish."""

    after: int
    read: int  # notifications read, published or not
    last_id: int
    batches: list[Batch]


@dataclass
class RelayStats:
    sections: int = 0
    published: int = 0  # envelopes
    messages: int = 0  # JetStream messages, each a run of envelopes
    position: int = 0


class Relay:
    def __init__(
        self,
        pool: ConnectionPool,
        events_table: str,
        mapper: Mapper,  # type: ignore[type-arg]
        js: JetStreamContext,
        positions: RelayPositions,
        *,
        subject_prefix: str,
        section_size: int,
        on_published: Callable[[int], None] | None = None,
    ) -> None:
        assert section_size >= 1
        self._pool = pool
        self._rows = RowQuery(events_table, _TAIL)
        self._mapper = mapper
        self._js = js
        self._positions = positions
        self._prefix = subject_prefix
        self._section_size = section_size
        self._on_published = on_published
        self.stats = RelayStats()
        self._ahead: asyncio.Task[_Section] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        self.stats.position = await asyncio.to_thread(self._positions.load, RELAY_NAME)
        log.info("relay starting after notification %s", self.stats.position)
        failures = 0
        while not stop.is_set():
            try:
                relayed = await self.relay_section()
                failures = 0
            except Exception:  # any failure: keep the position, back off, retry
                failures += 1
                backoff_s = min(MAX_BACKOFF_S, 0.1 * 2**failures)
                log.exception("relay section failed; retrying in %.1fs", backoff_s)
                await _wait(stop, backoff_s)
                continue
            if relayed == 0:
                await _wait(stop, IDLE_POLL_S)
        await self.close()

    async def close(self) -> None:
        """Let a read-ahead in flight finish, so that no thread outlives us."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            with contextlib.suppress(Exception):
                await ahead

    async def relay_section(self) -> int:
        """Publish the next section of the log; returns notifications read."""
        section = await self._next_section()
        if section.read == 0:
            return 0
        if section.read == self._section_size:
            # More is probably waiting: read and encode it while this
            # section's PubAcks and position save are under way.
            self._ahead = asyncio.create_task(asyncio.to_thread(self._read, section.last_id))
        await self._publish(section.batches)
        await asyncio.to_thread(self._positions.save, RELAY_NAME, section.last_id)
        self.stats.position = section.last_id
        self.stats.sections += 1
        self.stats.published += sum(batch.count for batch in section.batches)
        if self._on_published is not None:
            self._on_published(section.last_id)
        return section.read

    async def _next_section(self) -> _Section:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            try:
                section = await ahead
            except Exception:  # read again below, in the caller's error path if need be
                log.warning("relay read-ahead failed; reading again", exc_info=True)
            else:
                if section.after == self.stats.position:
                    return section
        return await asyncio.to_thread(self._read, self.stats.position)

    def _read(self, after: int) -> _Section:
        with self._pool.connection() as conn:
            rows = self._rows.fetch(conn, (after, self._section_size))
        if not rows:
            return _Section(after, 0, after, [])
        batches = batches_of(envelopes_of_rows(self._mapper, rows))
        return _Section(after, len(rows), rows[-1][0], batches)

    async def _publish(self, batches: Sequence[Batch]) -> None:
        # publish_async writes in call order, so the stream keeps log order;
        # the acks are awaited together.
        acks = [
            await self._js.publish_async(
                subject_of(batch.type, self._prefix),
                batch.payload,
                headers={MSG_ID_HEADER: batch.msg_id},
            )
            for batch in batches
        ]
        if acks:
            await asyncio.wait_for(asyncio.gather(*acks), timeout=PUBLISH_ACK_TIMEOUT_S)
        self.stats.messages += len(acks)


async def _wait(stop: asyncio.Event, timeout_s: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=timeout_s)
    except TimeoutError:
        pass
