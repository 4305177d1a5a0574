"""The relay: tails the event store's notification log in order and publishes
each event to JetStream as a versioned envelope.

Its position is saved only after every PubAck of a section has arrived. After
a crash it resumes from the saved position, so it may publish a section twice:
JetStream drops the repeats inside its duplicate window (`Nats-Msg-Id` is the
notification id), and consumers skip ids at or below their own position
outside it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from nats.js import JetStreamContext

from adapters.relay.positions import RelayPositions
from domain.published import Envelope, encode_envelope, publish, subject_of

log = logging.getLogger(__name__)

RELAY_NAME = "relay"
IDLE_POLL_S = 0.02
PUBLISH_ACK_TIMEOUT_S = 30.0
MAX_BACKOFF_S = 10.0


@dataclass
class RelayStats:
    sections: int = 0
    published: int = 0
    position: int = 0


def envelopes_of(mapper: Mapper, notifications: Sequence[Notification]) -> list[Envelope]:  # type: ignore[type-arg]
    """Published envelopes for stored notifications, skipping internal events."""
    envelopes = []
    for notification in notifications:
        envelope = publish(mapper.to_domain_event(notification), notification.id)
        if envelope is not None:
            envelopes.append(envelope)
    return envelopes


class Relay:
    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper,  # type: ignore[type-arg]
        js: JetStreamContext,
        positions: RelayPositions,
        *,
        subject_prefix: str,
        section_size: int,
        on_published: Callable[[int], None] | None = None,
    ) -> None:
        assert section_size >= 1
        self._recorder = recorder
        self._mapper = mapper
        self._js = js
        self._positions = positions
        self._prefix = subject_prefix
        self._section_size = section_size
        self._on_published = on_published
        self.stats = RelayStats()

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

    async def relay_section(self) -> int:
        """Publish the next section of the log; returns notifications read."""
        notifications = await asyncio.to_thread(
            self._recorder.select_notifications,
            self.stats.position + 1,
            self._section_size,
        )
        if not notifications:
            return 0
        envelopes = envelopes_of(self._mapper, notifications)
        await self._publish(envelopes)
        last_id = notifications[-1].id
        await asyncio.to_thread(self._positions.save, RELAY_NAME, last_id)
        self.stats.position = last_id
        self.stats.sections += 1
        self.stats.published += len(envelopes)
        if self._on_published is not None:
            self._on_published(last_id)
        return len(notifications)

    async def _publish(self, envelopes: Sequence[Envelope]) -> None:
        # publish_async writes in call order, so the stream keeps log order;
        # the acks are awaited together.
        acks = [
            await self._js.publish_async(
                subject_of(envelope.type, self._prefix),
                encode_envelope(envelope),
                headers={"Nats-Msg-Id": str(envelope.id)},
            )
            for envelope in envelopes
        ]
        if acks:
            await asyncio.wait_for(asyncio.gather(*acks), timeout=PUBLISH_ACK_TIMEOUT_S)


async def _wait(stop: asyncio.Event, timeout_s: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=timeout_s)
    except TimeoutError:
        pass
