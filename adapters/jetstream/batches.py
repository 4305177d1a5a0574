"""Published envelopes as bus messages: each message a JSON array of
envelopes of one type, its `Nats-Msg-Id` the ids it carries, so that
JetStream drops a repeat inside its duplicate window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec

from domain.published import Envelope

_envelope_decoder = msgspec.json.Decoder(Envelope)
_envelopes_decoder = msgspec.json.Decoder(list[Envelope])
_envelope_encoder = msgspec.json.Encoder()


def encode_envelope(envelope: Envelope) -> bytes:
    return _envelope_encoder.encode(envelope)


def decode_envelope(payload: bytes) -> Envelope:
    return _envelope_decoder.decode(payload)


# A published message carries a run of envelopes of one type, so that a bulk
# of 10,000 messages is a few dozen messages on the bus instead of 10,000:
# the bus's per-message cost (an fsync per message with `sync: always`) would
# otherwise bound the whole pipeline. Both bounds keep a message well under
# the server's default 1 MiB max_payload.
MAX_ENVELOPES_PER_MESSAGE = 1000
MAX_MESSAGE_BYTES = 512 * 1024
# Runs up to this long are encoded whole at the first try (see _run_payload).
_SHORT_RUN = 16


@dataclass(frozen=True, slots=True)
class Batch:
    """One published message: a JSON array of envelopes of one type, in id order."""

    type: str
    first_id: int
    last_id: int
    payload: bytes
    count: int

    @property
    def msg_id(self) -> str:
        """The `Nats-Msg-Id`: the notification id, or `first-last` for a run.
        A run re-read after a crash may be longer than the one first sent; its
        id then differs, JetStream keeps it, and consumers skip the envelopes
        at or below their position."""
        return str(self.first_id) if self.count == 1 else f"{self.first_id}-{self.last_id}"


MSG_ID_HEADER = "Nats-Msg-Id"


def last_id_of(msg_id: str) -> int | None:
    """The last envelope id a `Nats-Msg-Id` names (`id`, or `first-last` for a
    run), or None if it names none: what a consumer can still tell of a
    message it cannot decode."""
    last = msg_id.rpartition("-")[2]
    return int(last) if last.isdigit() else None


def batches_of(
    envelopes: Sequence[Envelope],
    *,
    max_envelopes: int = MAX_ENVELOPES_PER_MESSAGE,
    max_bytes: int = MAX_MESSAGE_BYTES,
) -> list[Batch]:
    """Consecutive envelopes of one type, cut at either bound, in order; each
    message takes as many envelopes as the bounds allow."""
    assert max_envelopes >= 1 and max_bytes >= 2
    if not isinstance(envelopes, list | tuple):  # its slices are encoded as arrays
        envelopes = list(envelopes)
    batches: list[Batch] = []
    start, end = 0, len(envelopes)
    while start < end:
        first = envelopes[start]
        stop, limit = start + 1, min(end, start + max_envelopes)
        while stop < limit and envelopes[stop].type == first.type:
            stop += 1
        if stop - start == 1:  # as often as not, between single sends
            payload = b"[" + _envelope_encoder.encode(first) + b"]"
        else:
            stop, payload = _run_payload(envelopes, start, stop, max_bytes)
        batches.append(Batch(first.type, first.id, envelopes[stop - 1].id, payload, stop - start))
        start = stop
    return batches


def _run_payload(
    envelopes: Sequence[Envelope], start: int, stop: int, max_bytes: int
) -> tuple[int, bytes]:
    """The JSON array of envelopes[start:end] for the largest end <= stop at
    which the array, less its closing bracket, fits in max_bytes (one
    envelope at least), and that end.

    Encoding a run as one array in one call takes about half the time of
    encoding its envelopes one by one and joining them. So a guess of the
    envelopes that fit is encoded at once, and the rest are added one at a
    time while they fit. For a long run the guess is a little short of what
    its first envelope's size allows, as later ones may be a little longer
    (more digits in an id, an optional field set); a short run is guessed
    whole, sparing the extra encoding of its first. If the guess is still
    too long, the array's own size gives the next one."""
    count = stop - start
    if count > _SHORT_RUN:
        first = len(_envelope_encoder.encode(envelopes[start])) + 1
        count = min(count, max(1, max_bytes * 7 // 8 // first))
    head = _envelope_encoder.encode(envelopes[start : start + count])
    while len(head) - 1 > max_bytes and count > 1:
        count = max(1, count * max_bytes * 7 // 8 // (len(head) - 1))
        head = _envelope_encoder.encode(envelopes[start : start + count])
    end = start + count
    if end == stop:
        return stop, head
    parts: list[bytes | memoryview] = [memoryview(head)[:-1]]
    size = len(head) - 1
    while end < stop:
        encoded = _envelope_encoder.encode(envelopes[end])
        size += len(encoded) + 1
        if size > max_bytes:
            break
        parts.append(encoded)
        end += 1
    return end, b",".join(parts) + b"]"


def decode_envelopes(payload: bytes) -> list[Envelope]:
    """The envelopes of one published message. A single object (what earlier
    releases published, one envelope per message) is read as a run of one."""
    if payload[:1] == b"{":
        return [_envelope_decoder.decode(payload)]
    return _envelopes_decoder.decode(payload)
