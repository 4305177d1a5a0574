"""Published runs decoded once per process, for every consumer in it."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from nats.aio.msg import Msg

from adapters.jetstream.batches import decode_envelopes
from domain.published import Envelope

# Decoded runs kept for the other consumers of the process. A decoded
# message.accepted envelope takes about 1.4 KB, its share of the raw run
# about 0.5 KB more, so the bound is a little under 100 MB. It is reached
# only when the consumers of a run are that far apart.
SHARED_RUNS_MAX_ENVELOPES = 50_000


@dataclass(slots=True)
class _Run:
    data: bytes
    envelopes: list[Envelope]
    readers_left: int


class SharedRuns:
    """Decoded runs, shared by the consumers of one process.

    The message log, DLR statistics, campaign progress, usage, the webhook
    intake and the dispatcher all read every `message.accepted` run;
    decoding a run was a third of the projection process's CPU while bulks
    arrived, most of it the same bytes decoded again by each consumer. Each
    run is now decoded once per process, keyed by its stream and sequence,
    and used again only if its bytes are the same (a stream made again under
    the same name starts its sequence again).

    A consumer says which subjects it reads (`reading`), so a run is kept
    only until every consumer of its subject has taken it: a run that no
    other consumer will read is not kept at all, and cannot push out one
    that others still need.
    Envelopes are frozen and no consumer changes an envelope's data, so
    threads can share them.
    """

    def __init__(self, max_envelopes: int = SHARED_RUNS_MAX_ENVELOPES) -> None:
        assert max_envelopes >= 1
        self._max_envelopes = max_envelopes
        self._runs: OrderedDict[tuple[str, int], _Run] = OrderedDict()
        self._readers: Counter[str] = Counter()
        self._readers_of_all = 0  # consumers sent every subject
        self._envelopes = 0
        self._lock = threading.Lock()
        self.decoded = 0  # runs decoded here, not taken from another consumer

    @contextlib.contextmanager
    def reading(self, subjects: Iterable[str] | None) -> Iterator[None]:
        """Count a consumer of `subjects` (None: of every subject) for as
        long as the block runs."""
        wanted = None if subjects is None else set(subjects)
        with self._lock:
            if wanted is None:
                self._readers_of_all += 1
            else:
                self._readers.update(wanted)
        try:
            yield
        finally:
            with self._lock:
                if wanted is None:
                    self._readers_of_all -= 1
                else:
                    self._readers.subtract(wanted)
                    for subject in wanted:
                        if self._readers[subject] <= 0:
                            del self._readers[subject]

    def decode(self, msg: Msg) -> list[Envelope]:
        key = (msg.metadata.stream, msg.metadata.sequence.stream)
        with self._lock:
            run = self._runs.get(key)
            if run is not None and run.data == msg.data:
                run.readers_left -= 1
                if run.readers_left <= 0:
                    self._drop(key)
                return run.envelopes
        envelopes = decode_envelopes(msg.data)  # raises on a poison message: not kept
        with self._lock:
            self.decoded += 1
            self._drop(key)
            # A redelivery counts as a reader too: the run then leaves early,
            # and a later consumer decodes it again. Only CPU is lost.
            readers_left = self._readers[msg.subject] + self._readers_of_all - 1
            if readers_left > 0:
                self._runs[key] = _Run(msg.data, envelopes, readers_left)
                self._envelopes += len(envelopes)
                while self._envelopes > self._max_envelopes and len(self._runs) > 1:
                    self._drop(next(iter(self._runs)))
        return envelopes

    def _drop(self, key: tuple[str, int]) -> None:
        run = self._runs.pop(key, None)
        if run is not None:
            self._envelopes -= len(run.envelopes)


SHARED_RUNS = SharedRuns()
