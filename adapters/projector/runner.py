"""Runs one projection as a durable JetStream pull consumer.

For each fetched batch, one PostgreSQL transaction applies the envelopes above
the projection's position, advances the position and commits; only then are
the messages acked. A crash before the commit redelivers the batch; a crash
after it redelivers envelopes at or below the position, which are skipped.

A batch that fails is retried one envelope at a time, in order, each in its
own transaction, with backoff. An envelope that still fails after the
configured number of deliveries is parked in projection_dead_letters with the
error, the position moves past it, and the projection goes on. Later
envelopes wait while an earlier one is retried, so order is never broken.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError
from psycopg_pool import ConnectionPool

from adapters.jetstream.batches import MSG_ID_HEADER, encode_envelope, last_id_of
from adapters.jetstream.runs import SHARED_RUNS, SharedRuns
from adapters.jetstream.subjects import subject_of
from adapters.projector import positions
from domain.published import Envelope
from projections.base import Projection

log = logging.getLogger(__name__)

FETCH_TIMEOUT_S = 1.0
ACK_WAIT_S = 60.0
RETRY_BACKOFF_BASE_S = 0.1
RETRY_BACKOFF_CAP_S = 5.0
BUSY_DELAY_S = 1.0
OUTDATED_DELAY_S = 10.0


class ProjectionBusy(Exception):
    """A rebuild holds the projection's lock; the batch waits and comes back."""


@dataclass
class Delivery:
    """One message from the bus: a run of envelopes, or None if undecodable."""

    msg: Msg | None
    envelopes: list[Envelope] | None
    raw: bytes
    envelope_id: int  # the run's last id, or from its Nats-Msg-Id header if undecodable
    error: str = ""
    deliveries: int = 1


@dataclass
class RunnerStats:
    batches: int = 0
    applied: int = 0
    parked: int = 0
    busy: int = 0
    parked_ids: list[int] = field(default_factory=list)


class ProjectionRunner:
    def __init__(
        self,
        projection: Projection,
        pool: ConnectionPool,
        *,
        max_deliveries: int,
    ) -> None:
        assert max_deliveries >= 1
        self.projection = projection
        self._pool = pool
        self._max_deliveries = max_deliveries
        self.stats = RunnerStats()

    # The transactional core, independent of NATS -----------------------------

    def apply_batch(self, deliveries: Sequence[Delivery]) -> None:
        """Apply a batch at once, or envelope by envelope if the batch fails."""
        try:
            self._apply_in_one_transaction(deliveries)
        except (ProjectionBusy, positions.ProjectionOutdated):
            raise
        except Exception:
            log.warning("projection %s: batch failed, applying one by one",
                        self.projection.name, exc_info=True)
            for delivery in deliveries:
                for single in _singles(delivery):
                    self._apply_one_with_retries(single)
        self.stats.batches += 1

    def _apply_in_one_transaction(self, deliveries: Sequence[Delivery]) -> None:
        if any(d.envelopes is None for d in deliveries):
            raise ValueError("undecodable envelope in batch")
        envelopes = [e for d in deliveries for e in d.envelopes or ()]
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            if not positions.try_lock(cursor, self.projection.name):
                raise ProjectionBusy(self.projection.name)
            position = positions.current_position(
                cursor, self.projection.name, self.projection.schema_version)
            fresh = [
                e for e in envelopes
                if e.id > position and e.type in self.projection.event_types
            ]
            if fresh:
                self.projection.apply(cursor, fresh)
            if envelopes:
                last = max(envelopes, key=lambda e: e.id)
                positions.advance(cursor, self.projection.name, last.id, last.occurred_at)
        self.stats.applied += len(fresh)

    def _apply_one_with_retries(self, delivery: Delivery) -> None:
        attempt = delivery.deliveries
        while True:
            try:
                self._apply_in_one_transaction([delivery])
                return
            except (ProjectionBusy, positions.ProjectionOutdated):
                raise
            except Exception as error:  # the envelope itself is refused
                delivery.error = f"{type(error).__name__}: {error}"
                if attempt >= self._max_deliveries:
                    self._park(delivery)
                    return
                backoff_s = min(RETRY_BACKOFF_CAP_S, RETRY_BACKOFF_BASE_S * 2 ** (attempt - 1))
                log.warning("projection %s: retrying an envelope in %.1fs (%s)",
                            self.projection.name, backoff_s, delivery.error)
                time.sleep(backoff_s)
                attempt += 1

    def _park(self, delivery: Delivery) -> None:
        envelope = delivery.envelopes[0] if delivery.envelopes else None
        envelope_id = delivery.envelope_id
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            if not positions.try_lock(cursor, self.projection.name):
                raise ProjectionBusy(self.projection.name)
            cursor.execute(
                "INSERT INTO projection_dead_letters"
                " (projection, envelope_id, type, payload, error, deliveries)"
                " VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (projection, envelope_id) DO UPDATE"
                " SET error = EXCLUDED.error, deliveries = EXCLUDED.deliveries",
                (self.projection.name, envelope_id, envelope.type if envelope else "?",
                 delivery.raw, delivery.error, self._max_deliveries),
            )
            positions.current_position(
                cursor, self.projection.name, self.projection.schema_version)
            positions.advance(cursor, self.projection.name, envelope_id, None)
        log.error("projection %s: parked envelope %s after %s deliveries: %s",
                  self.projection.name, envelope_id, self._max_deliveries, delivery.error)
        self.stats.parked += 1
        self.stats.parked_ids.append(envelope_id)

    # The NATS side ------------------------------------------------------------

    async def run(
        self, js: JetStreamContext, stop: asyncio.Event, *, stream: str, subject_prefix: str,
        batch_size: int,
    ) -> None:
        durable, received = await self._ensure_consumer(js, stream, subject_prefix, batch_size)
        subscription = await js.pull_subscribe_bind(durable=durable, stream=stream)
        log.info("projection %s consuming %s", self.projection.name, stream)
        failures = 0
        with SHARED_RUNS.reading(received):
            while not stop.is_set():
                try:
                    await self._consume_once(subscription, batch_size)
                    failures = 0
                except Exception:  # the database or NATS went away: back off, go on
                    failures += 1
                    backoff_s = min(RETRY_BACKOFF_CAP_S, RETRY_BACKOFF_BASE_S * 2**failures)
                    log.exception("projection %s: consuming failed; retrying in %.1fs",
                                  self.projection.name, backoff_s)
                    await asyncio.sleep(backoff_s)

    def _subjects(self, subject_prefix: str) -> list[str]:
        return sorted(subject_of(t, subject_prefix) for t in self.projection.event_types)

    async def _consume_once(self, subscription: JetStreamContext.PullSubscription,
                            batch_size: int) -> None:
        try:
            msgs = await subscription.fetch(batch_size, timeout=FETCH_TIMEOUT_S)
        except TimeoutError:
            return
        deliveries = [_delivery(msg) for msg in msgs]
        try:
            await asyncio.to_thread(self.apply_batch, deliveries)
        except ProjectionBusy:
            self.stats.busy += 1
            for msg in msgs:
                await msg.nak(delay=BUSY_DELAY_S)
            return
        except positions.ProjectionOutdated as outdated:
            # Deployed before `migrate` ran, or left running after it: the
            # batch waits in the stream until the versions agree.
            self.stats.busy += 1
            log.warning("%s", outdated)
            for msg in msgs:
                await msg.nak(delay=OUTDATED_DELAY_S)
            return
        if msgs:
            # The consumer acks cumulatively: acking the batch's last message
            # acks the whole batch, in one round trip instead of one each.
            await msgs[-1].ack()

    async def _ensure_consumer(
        self, js: JetStreamContext, stream: str, subject_prefix: str, batch_size: int
    ) -> tuple[str, list[str] | None]:
        """The durable consumer's name, and the subjects it is sent (None:
        every subject of the stream)."""
        durable = f"projection_{self.projection.name}"
        subjects = self._subjects(subject_prefix)
        single = len(subjects) == 1
        config = ConsumerConfig(
            durable_name=durable,
            ack_policy=AckPolicy.ALL,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=ACK_WAIT_S,
            # Nothing beyond the current batch is handed out while it is
            # pending, so a retried envelope is never overtaken by a later one.
            max_ack_pending=batch_size,
            # One subject goes as filter_subject, which servers before 2.10
            # honour too; several need 2.10's filter_subjects.
            filter_subject=subjects[0] if single else None,
            filter_subjects=None if single else subjects,
        )
        try:
            info = await js.add_consumer(stream, config)
        except APIError:
            # A consumer made by an earlier release with settings that cannot
            # be changed in place (its ack policy). Replacing it loses only
            # its place in the stream: the projection's own position, kept
            # in PostgreSQL, skips whatever is delivered again.
            log.warning("projection %s: replacing consumer %s", self.projection.name, durable)
            await js.delete_consumer(stream, durable)
            info = await js.add_consumer(stream, config)
        if info.config.filter_subject or info.config.filter_subjects:
            return durable, subjects
        # A server before 2.10 drops filter_subjects without an error. The
        # projection still applies only its own types, but it is sent, and
        # skips, every event of the stream.
        log.warning("projection %s: the NATS server ignored the subject filters (they need"
                    " NATS 2.10 or later); it is sent every event and skips the others",
                    self.projection.name)
        return durable, None


def _delivery(msg: Msg, shared: SharedRuns = SHARED_RUNS) -> Delivery:
    try:
        envelopes: list[Envelope] | None = shared.decode(msg)
        error = ""
    except msgspec.DecodeError as decode_error:
        envelopes, error = None, f"undecodable envelope: {decode_error}"
    if envelopes:
        envelope_id = envelopes[-1].id
    else:
        # An undecodable message still has the ids the relay put in its
        # header (`id`, or `first-last` for a run): park it under the last.
        envelope_id = last_id_of((msg.headers or {}).get(MSG_ID_HEADER, "")) or 0
    return Delivery(
        msg, envelopes, msg.data, envelope_id, error,
        deliveries=msg.metadata.num_delivered or 1,
    )


def _singles(delivery: Delivery) -> list[Delivery]:
    """A run split into one delivery per envelope, so that a poison envelope
    is parked alone and the rest of its run is applied."""
    if not delivery.envelopes or len(delivery.envelopes) == 1:
        return [delivery]
    return [
        Delivery(delivery.msg, [envelope], encode_envelope(envelope), envelope.id,
                 deliveries=delivery.deliveries)
        for envelope in delivery.envelopes
    ]
