"""Published runs decoded once per process, for every consumer in it."""

from __future__ import annotations

import threading
from collections import OrderedDict

from nats.aio.msg import Msg

from domain.published import Envelope, decode_envelopes

# Decoded runs kept for the other consumers of the process: about 50 runs
# of message.accepted, some tens of MB at most.
SHARED_RUNS_MAX_ENVELOPES = 50_000


class SharedRuns:
    """Decoded runs, shared by the consumers of one process.

    The message log, DLR statistics, campaign progress, usage, the webhook
    intake and the dispatcher all read every `message.accepted` run;
    decoding a run was a third of the projection process's CPU while bulks
    arrived, most of it the same bytes decoded again by each consumer. Each
    run is now decoded once per process, keyed by its stream and sequence,
    and used again only if its bytes are the same (a stream made again under
    the same name starts its sequence again).
    Envelopes are frozen and no consumer changes an envelope's data, so
    threads can share them.
    """

    def __init__(self, max_envelopes: int = SHARED_RUNS_MAX_ENVELOPES) -> None:
        assert max_envelopes >= 1
        self._max_envelopes = max_envelopes
        self._runs: OrderedDict[tuple[str, int], tuple[bytes, list[Envelope]]] = OrderedDict()
        self._envelopes = 0
        self._lock = threading.Lock()
        self.decoded = 0  # runs decoded here, not taken from another consumer

    def decode(self, msg: Msg) -> list[Envelope]:
        key = (msg.metadata.stream, msg.metadata.sequence.stream)
        with self._lock:
            cached = self._runs.get(key)
        if cached is not None and cached[0] == msg.data:
            return cached[1]
        envelopes = decode_envelopes(msg.data)  # raises on a poison message: not kept
        with self._lock:
            self.decoded += 1
            previous = self._runs.pop(key, None)
            if previous is not None:
                self._envelopes -= len(previous[1])
            self._runs[key] = (msg.data, envelopes)
            self._envelopes += len(envelopes)
            while self._envelopes > self._max_envelopes and len(self._runs) > 1:
                _, (_, evicted) = self._runs.popitem(last=False)
                self._envelopes -= len(evicted)
        return envelopes


SHARED_RUNS = SharedRuns()
