"""The event-sourced application: one store for wallets, messages and campaigns.

Hot wallets stay in memory. Commands on one wallet are serialised in-process
by a striped lock, so two sends from one account never race each other to
the same wallet version; a conflict can then only come from another process,
and that rare case is retried a bounded number of times from a fresh load.
Concurrent sends on one wallet share a transaction (see group_commit.py).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import IntegrityError, StoredEvent

from application.errors import ConcurrencyExhausted, Conflict, NotFound
from application.ledger.group_commit import (
    MAX_GROUP_COMMANDS,
    GroupCommitter,
    GroupStats,
    WalletCommand,
)
from application.ledger.ports import AcceptedBatchEncoder, EventStreamRecorder, ManyAggregatesReader
from domain.errors import DomainError
from domain.messaging.accepted_batch import AcceptedBatch
from domain.wallet import Wallet

T = TypeVar("T")

log = logging.getLogger(__name__)

LOCK_STRIPES = 1024
DEFAULT_WALLET_CACHE_SIZE = 10_000
MAX_CONFLICT_RETRIES = 10
# Backoff after losing a race to another process: doubling from 1 ms, capped,
# with jitter so that two losers do not collide again in lockstep.
CONFLICT_BACKOFF_BASE_S = 0.001
CONFLICT_BACKOFF_CAP_S = 0.05
SNAPSHOT_INTERVAL_EVENTS = 100
# Saves expected to be at least this large stream into the store.
STREAM_THRESHOLD_EVENTS = 200


class WalletCache:
    """A bounded LRU of live wallets. Callers hold the wallet's lock."""

    def __init__(self, maxsize: int) -> None:
        assert maxsize > 0
        self._maxsize = maxsize
        self._wallets: OrderedDict[UUID, Wallet] = OrderedDict()
        self._guard = threading.Lock()

    def get(self, wallet_id: UUID) -> Wallet | None:
        with self._guard:
            wallet = self._wallets.get(wallet_id)
            if wallet is not None:
                self._wallets.move_to_end(wallet_id)
            return wallet

    def put(self, wallet: Wallet) -> None:
        with self._guard:
            self._wallets[wallet.id] = wallet
            self._wallets.move_to_end(wallet.id)
            while len(self._wallets) > self._maxsize:
                self._wallets.popitem(last=False)

    def evict(self, wallet_id: UUID) -> None:
        with self._guard:
            self._wallets.pop(wallet_id, None)


class LedgerApplication(Application[UUID]):
    name = "smsledger"
    snapshotting_intervals = {Wallet: SNAPSHOT_INTERVAL_EVENTS}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        wallet_cache_size: int = DEFAULT_WALLET_CACHE_SIZE,
        group_commit_max: int = MAX_GROUP_COMMANDS,
    ) -> None:
        super().__init__(env)
        self._wallets = WalletCache(wallet_cache_size)
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]
        self._groups = GroupCommitter(self, group_commit_max)

    # Wallet access ------------------------------------------------------------

    @contextmanager
    def locked_wallet(self, wallet_id: UUID) -> Iterator[Wallet]:
        """The live wallet, held exclusively for one read, caught up first
        with whatever other processes recorded (the dispatcher's settlements,
        another API process's sends): one indexed query, usually empty.

        If the block raises, the cached wallet may hold half-applied events,
        so it is dropped and the next use reloads it from the store.
        """
        with self._locks[hash(wallet_id) % LOCK_STRIPES]:
            wallet = self._wallets.get(wallet_id)
            if wallet is None:
                wallet = self._load_wallet(wallet_id)
            else:
                wallet = self._caught_up(wallet)
            self._wallets.put(wallet)
            try:
                yield wallet
            except BaseException:
                self._wallets.evict(wallet_id)
                raise

    def run_on_wallet(self, wallet_id: UUID, command: Callable[[Wallet], T]) -> T:
        """Run a command that saves the wallet, retrying cross-process conflicts.

        A unique-constraint failure either means another process wrote this
        wallet first (retry from a fresh load) or that the command repeated
        something already recorded, such as a top-up's receipt (Conflict).
        """
        for attempt in range(MAX_CONFLICT_RETRIES):
            if attempt:
                backoff_s = min(CONFLICT_BACKOFF_CAP_S, CONFLICT_BACKOFF_BASE_S * 2**attempt)
                time.sleep(random.uniform(0, backoff_s))  # noqa: S311 - jitter, not secrecy
            with self._locks[hash(wallet_id) % LOCK_STRIPES]:
                wallet, cached = self._live_wallet(wallet_id)
                version_before = wallet.version
                try:
                    result = command(wallet)
                except IntegrityError:
                    self._wallets.evict(wallet_id)
                    fresh = self._load_wallet(wallet_id)
                    if fresh.version == version_before:
                        raise Conflict("This request was already recorded") from None
                    self._wallets.put(fresh)
                    continue
                except DomainError:
                    self._wallets.evict(wallet_id)
                    if cached and self._moved_since(wallet_id, version_before):
                        continue  # refused by a stale copy: decide again on the stored one
                    raise
                except BaseException:
                    self._wallets.evict(wallet_id)
                    raise
                self._wallets.put(wallet)
                return result
        raise ConcurrencyExhausted(
            "The wallet is being changed by another process; retry the request",
            wallet_id=str(wallet_id),
        )

    def _live_wallet(self, wallet_id: UUID) -> tuple[Wallet, bool]:
        """The wallet to decide on, and whether it came from the cache.

        A cached wallet is not caught up first, to spare every write a query.
        It may lag behind what other processes stored since (the dispatcher's
        settlements, a top-up taken by another API worker). A decision it
        allows is safe: its save then conflicts on the version and is retried
        from a fresh load. A decision it refuses is not, because nothing
        checks a refusal: the caller asks _moved_since and decides again."""
        cached = self._wallets.get(wallet_id)
        if cached is not None:
            return cached, True
        return self._load_wallet(wallet_id), False

    def _moved_since(self, wallet_id: UUID, version: int) -> bool:
        """Whether the store holds an event of the wallet after `version`:
        one indexed query, asked only when a cached wallet refused."""
        return any(True for _ in self.events.get(wallet_id, gt=version, limit=1))

    def _caught_up(self, wallet: Wallet) -> Wallet:
        """The cached wallet with the events stored after its version applied.
        Writes need not do this (see _live_wallet). Reads would otherwise show
        a balance that only this process's own writes keep current."""
        for event in self.events.get(wallet.id, gt=wallet.version):
            assert isinstance(event, Aggregate.Event), event
            caught_up = event.mutate(wallet)
            assert isinstance(caught_up, Wallet)
            wallet = caught_up
        return wallet
    def run_grouped(self, wallet_id: UUID, command: WalletCommand) -> None:
        """Run a command with whatever other commands on this wallet are
        waiting, all saved in one transaction; return once it is committed."""
        self._groups.submit(wallet_id, command)

    def group_stats(self) -> GroupStats:
        return self._groups.stats()

    def run_group_on_wallet(
        self, wallet_id: UUID, commands: Sequence[WalletCommand]
    ) -> list[Exception | None]:
        """Apply the commands in order to the live wallet and save the
        wallet's new events with every aggregate they return in ONE
        transaction. A command that raises fails alone; per command, the
        error or None. Raises if the transaction itself fails.

        A conflict with another process reapplies the whole group to a
        fresh load, as run_on_wallet does for one command. A unique-
        constraint failure without such a conflict means some command
        repeated something already recorded; the group cannot tell which,
        so its commands are then committed one at a time, each with its own
        outcome.
        """
        for attempt in range(MAX_CONFLICT_RETRIES):
            if attempt:
                backoff_s = min(CONFLICT_BACKOFF_CAP_S, CONFLICT_BACKOFF_BASE_S * 2**attempt)
                time.sleep(random.uniform(0, backoff_s))  # noqa: S311 - jitter, not secrecy
            with self._locks[hash(wallet_id) % LOCK_STRIPES]:
                wallet, cached = self._live_wallet(wallet_id)
                version_before = wallet.version
                try:
                    wallet, errors, produced = self._apply_group(wallet, commands)
                    version_before = wallet.version - len(wallet.pending_events)
                    if cached and _refused(errors) and self._moved_since(
                        wallet_id, version_before
                    ):
                        # Refused by a stale copy: apply the group again to
                        # the stored wallet (see _live_wallet).
                        self._wallets.evict(wallet_id)
                        continue
                    self.record(*produced, wallet)
                except IntegrityError:
                    self._wallets.evict(wallet_id)
                    fresh = self._load_wallet(wallet_id)
                    if fresh.version == version_before:
                        break
                    self._wallets.put(fresh)
                    continue
                except BaseException:
                    self._wallets.evict(wallet_id)
                    raise
                self._wallets.put(wallet)
                return errors
        else:
            raise ConcurrencyExhausted(
                "The wallet is being changed by another process; retry the request",
                wallet_id=str(wallet_id),
            )
        return [self._run_alone(wallet_id, command) for command in commands]

    def _apply_group(
        self, wallet: Wallet, commands: Sequence[WalletCommand]
    ) -> tuple[Wallet, list[Exception | None], list[Aggregate]]:
        """The commands applied in order: the wallet they leave, each one's
        error, and the aggregates they made.

        A command that fails after changing the wallet leaves events on it
        that must not be saved: the wallet is then reloaded from the store
        and the others are applied again. Each such restart fails one more
        command for good, so there are fewer restarts than commands.
        """
        failed: dict[int, Exception] = {}
        while True:
            produced: list[Aggregate] = []
            dirty = False
            for index, command in enumerate(commands):
                if index in failed:
                    continue
                version_before = wallet.version
                try:
                    made = command(wallet)
                except Exception as error:
                    failed[index] = error
                    dirty = wallet.version != version_before
                    if dirty:
                        break
                    continue
                assert all(aggregate is not wallet for aggregate in made), "saved by the group"
                produced.extend(made)
            if not dirty:
                return wallet, [failed.get(i) for i in range(len(commands))], produced
            self._wallets.evict(wallet.id)
            wallet = self._load_wallet(wallet.id)

    def _run_alone(self, wallet_id: UUID, command: WalletCommand) -> Exception | None:
        def save(wallet: Wallet) -> None:
            self.record(*command(wallet), wallet)

        try:
            self.run_on_wallet(wallet_id, save)
        except Exception as error:
            return error
        return None

    def _load_wallet(self, wallet_id: UUID) -> Wallet:
        try:
            wallet: Wallet = self.repository.get(wallet_id)
        except AggregateNotFoundError:
            raise NotFound("No such wallet", wallet_id=str(wallet_id)) from None
        return wallet

    def get_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, Aggregate]:
        """Several aggregates, rebuilt from their events read in one query
        where the recorder can; missing ones are left out. Not for wallets,
        which are snapshotted and cached: use locked_wallet."""
        if not isinstance(self.recorder, ManyAggregatesReader):
            found: dict[UUID, Aggregate] = {}
            for aggregate_id in aggregate_ids:
                try:
                    found[aggregate_id] = self.repository.get(aggregate_id)
                except AggregateNotFoundError:
                    continue
            return found
        rebuilt: dict[UUID, Any] = {}
        for stored in self.recorder.select_events_of(list(aggregate_ids)):
            event = self.mapper.to_domain_event(stored)
            aggregate_id = UUID(str(stored.originator_id))
            rebuilt[aggregate_id] = event.mutate(rebuilt.get(aggregate_id))  # type: ignore[attr-defined]
        return rebuilt

    def forget_wallet(self, wallet_id: UUID) -> None:
        self._wallets.evict(wallet_id)

    # Saving -----------------------------------------------------------------

    def record(
        self,
        *aggregates: Aggregate,
        batches: Sequence[AcceptedBatch] = (),
    ) -> None:
        """Save aggregates' pending events and batches of accepted messages
        in one transaction."""
        # Filled directly: the library's collect_events() checks each object
        # against runtime protocols, which costs more than a small save.
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in aggregates:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        stored = [self.mapper.to_stored_event(e) for e in processing_event.events]
        for batch in batches:
            stored.extend(self._encode(batch))
        self.recorder.insert_events(stored)
        self._snapshot_from_memory(processing_event)

    def record_stream(
        self,
        head: Sequence[Aggregate],
        batches: Iterable[AcceptedBatch],
        close: Callable[[], Sequence[Aggregate]],
        *,
        expected_events: int,
    ) -> None:
        """Save, in one transaction and in this order: the pending events of
        `head`, batches produced while the save runs, then the pending events
        of the aggregates that `close` returns once the batches are done.

        With a recorder that can stream, each batch reaches the database as
        soon as it is encoded; an error raised by a batch or by `close` ends
        the save with nothing recorded.
        """
        opening = [event for aggregate in head for event in aggregate.collect_events()]
        closing = ProcessingEvent[UUID]()

        def stored_events() -> Iterator[StoredEvent]:
            for opening_event in opening:
                yield self.mapper.to_stored_event(opening_event)
            for batch in batches:
                yield from self._encode(batch)
            for aggregate in close():
                closing.events.extend(aggregate.collect_events())
                closing.aggregates[aggregate.id] = aggregate
            for event in closing.events:
                yield self.mapper.to_stored_event(event)

        if isinstance(self.recorder, EventStreamRecorder) and (
            expected_events >= STREAM_THRESHOLD_EVENTS
        ):
            self.recorder.insert_event_stream(stored_events())
        else:
            self.recorder.insert_events(list(stored_events()))
        self._snapshot_from_memory(closing)

    def _encode(self, batch: AcceptedBatch) -> list[StoredEvent]:
        if isinstance(self.mapper, AcceptedBatchEncoder):
            return self.mapper.encode_accepted_batch(batch)
        return [self.mapper.to_stored_event(e) for e in batch.events()]

    def _snapshot_from_memory(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot aggregates that crossed their interval, from the objects
        in hand: the library's own path reloads and replays them first."""
        if self.snapshots is None:
            return
        for aggregate in processing_event.aggregates.values():
            interval = self.snapshotting_intervals.get(type(aggregate))
            if interval is None:
                continue
            saved_now = sum(
                1 for e in processing_event.events if e.originator_id == aggregate.id
            )
            if aggregate.version // interval > (aggregate.version - saved_now) // interval:
                try:
                    self.snapshots.put([Snapshot.take(aggregate)])
                except Exception:
                    # The events are committed by now; a snapshot only
                    # shortens later loads. Failing the command here would
                    # report as failed what is saved, for up to a whole
                    # group of sends that their callers might then repeat.
                    log.warning("could not snapshot %s at version %s", aggregate.id,
                                aggregate.version, exc_info=True)


def _refused(errors: Sequence[Exception | None]) -> bool:
    return any(isinstance(error, DomainError) for error in errors)
