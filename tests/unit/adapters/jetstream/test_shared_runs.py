"""Published runs are decoded once per process and shared by its projections."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

import msgspec
import pytest
from nats.aio.msg import Msg

from adapters.jetstream.batches import batches_of
from adapters.jetstream.runs import SharedRuns
from domain.published import Envelope

SUBJECT = "smsledger.message.accepted"


def run_of(first_id: int, count: int) -> bytes:
    envelopes = [
        Envelope(id=first_id + i, type="message.accepted", version=1,
                 occurred_at=datetime(2026, 11, 22, tzinfo=UTC), account_id="acc_1",
                 aggregate_id=uuid4(), aggregate_version=1, data={"segments": 1})
        for i in range(count)
    ]
    (batch,) = batches_of(envelopes)
    return batch.payload


def message(sequence: int, data: bytes, stream: str = "smsledger") -> Msg:
    # The JetStream ack subject carries the stream and its sequence.
    reply = f"$JS.ACK.{stream}.projection_x.1.{sequence}.{sequence}.0.0"
    return Msg(_client=cast(Any, None), subject=SUBJECT, reply=reply,
               data=data)


def shared_by(readers: int, **kwargs: Any) -> tuple[SharedRuns, contextlib.ExitStack]:
    """SharedRuns with `readers` consumers of SUBJECT declared."""
    shared, stack = SharedRuns(**kwargs), contextlib.ExitStack()
    for _ in range(readers):
        stack.enter_context(shared.reading([SUBJECT]))
    return shared, stack


def test_a_run_read_by_several_projections_is_decoded_once() -> None:
    shared, _ = shared_by(3)
    payload = run_of(1, 3)
    first = shared.decode(message(7, payload))
    assert shared.decode(message(7, payload)) is first
    assert shared.decode(message(7, payload)) is first
    assert [e.id for e in first] == [1, 2, 3]
    assert shared.decoded == 1


def test_a_run_is_let_go_once_every_reader_took_it() -> None:
    shared, _ = shared_by(2)
    payload = run_of(1, 3)
    first = shared.decode(message(7, payload))
    assert shared.decode(message(7, payload)) is first
    # A third take (a redelivery) finds nothing kept and decodes again.
    assert shared.decode(message(7, payload)) is not first
    assert shared.decoded == 2


def test_a_run_nobody_else_reads_is_not_kept() -> None:
    shared, _ = shared_by(1)
    payload = run_of(1, 2)
    shared.decode(message(1, payload))
    shared.decode(message(1, payload))
    assert shared.decoded == 2


def test_readers_leaving_are_no_longer_counted() -> None:
    shared, stack = shared_by(2)
    stack.close()
    with shared.reading([SUBJECT]):
        payload = run_of(1, 2)
        shared.decode(message(1, payload))
        shared.decode(message(1, payload))
    assert shared.decoded == 2


def test_the_same_sequence_with_other_bytes_is_decoded_again() -> None:
    # A stream made again under the same name starts its sequence again.
    shared, _ = shared_by(2)
    shared.decode(message(1, run_of(1, 2)))
    again = shared.decode(message(1, run_of(50, 2)))
    assert [e.id for e in again] == [50, 51]
    assert shared.decoded == 2


def test_streams_do_not_share_sequences() -> None:
    shared, _ = shared_by(2)
    shared.decode(message(1, run_of(1, 1), stream="a"))
    other = shared.decode(message(1, run_of(9, 1), stream="b"))
    assert [e.id for e in other] == [9]


def test_the_cache_is_bounded_in_envelopes() -> None:
    shared, _ = shared_by(3, max_envelopes=5)
    payloads = {sequence: run_of(sequence * 10, 2) for sequence in range(1, 5)}
    for sequence, payload in payloads.items():
        shared.decode(message(sequence, payload))
    assert shared.decoded == 4
    shared.decode(message(4, payloads[4]))  # the newest is kept
    assert shared.decoded == 4
    shared.decode(message(1, payloads[1]))  # the oldest was let go
    assert shared.decoded == 5


def test_an_undecodable_message_raises_and_is_not_kept() -> None:
    shared, _ = shared_by(2)
    with pytest.raises(msgspec.DecodeError):
        shared.decode(message(3, b"[{not json"))
    with pytest.raises(msgspec.DecodeError):
        shared.decode(message(3, b"[{not json"))


def test_a_consumer_sent_every_subject_counts_as_a_reader_of_each() -> None:
    # Servers before NATS 2.10 ignore a consumer's filter_subjects.
    shared, _ = shared_by(1)
    with shared.reading(None):
        payload = run_of(1, 2)
        first = shared.decode(message(1, payload))
        assert shared.decode(message(1, payload)) is first
    assert shared.decoded == 1
