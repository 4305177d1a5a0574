"""Runs of envelopes on the bus: how the relay cuts them and consumers read them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from adapters.jetstream.batches import batches_of, decode_envelopes, encode_envelope, last_id_of
from domain.published import Envelope


def _envelope(envelope_id: int, envelope_type: str, note: str = "") -> Envelope:
    return Envelope(
        id=envelope_id, type=envelope_type, version=1,
        occurred_at=datetime(2026, 11, 22, tzinfo=UTC), account_id="acct",
        aggregate_id=uuid4(), aggregate_version=1, data={"note": note},
    )


@given(
    types=st.lists(st.sampled_from(["message.accepted", "wallet.funds_reserved"]),
                   min_size=0, max_size=60),
    max_envelopes=st.integers(1, 7),
)
def test_runs_keep_order_and_one_type_each(types: list[str], max_envelopes: int) -> None:
    envelopes = [_envelope(i + 1, t) for i, t in enumerate(types)]
    batches = batches_of(envelopes, max_envelopes=max_envelopes)
    decoded = [decode_envelopes(b.payload) for b in batches]
    assert [e for run in decoded for e in run] == envelopes
    for batch, run in zip(batches, decoded, strict=True):
        assert {e.type for e in run} == {batch.type}
        assert 1 <= batch.count == len(run) <= max_envelopes
        assert (batch.first_id, batch.last_id) == (run[0].id, run[-1].id)
    # Adjacent runs are cut only by a change of type or the count bound.
    for before, after in itertools.pairwise(batches):
        assert before.type != after.type or before.count == max_envelopes


def test_the_byte_bound_cuts_a_run() -> None:
    envelopes = [_envelope(i, "message.accepted", "x" * 1000) for i in range(1, 11)]
    one_size = len(encode_envelope(envelopes[0])) + 1
    batches = batches_of(envelopes, max_bytes=one_size * 3)
    assert [b.count for b in batches] == [3, 3, 3, 1]
    assert all(len(b.payload) <= one_size * 3 + 1 for b in batches)


def test_msg_id_is_the_id_or_the_range() -> None:
    single, run = batches_of([_envelope(7, "a.b"), _envelope(8, "c.d"), _envelope(9, "c.d")])
    assert single.msg_id == "7"
    assert run.msg_id == "8-9"
    # What a consumer reads back from the header of a message it cannot decode.
    assert [last_id_of(b.msg_id) for b in (single, run)] == [7, 9]
    assert last_id_of("") is None and last_id_of("8-x") is None


def test_a_single_envelope_from_an_earlier_release_is_a_run_of_one() -> None:
    envelope = _envelope(3, "message.accepted")
    assert decode_envelopes(encode_envelope(envelope)) == [envelope]


def _greedy(envelopes: list[Envelope], max_envelopes: int, max_bytes: int) -> list[list[int]]:
    """The ids of each message, cut the plain way: envelope by envelope, a new
    message whenever the type changes or the next envelope would pass a bound."""
    runs: list[list[int]] = []
    run_type, run_bytes = None, 0
    for envelope in envelopes:
        size = len(encode_envelope(envelope)) + 1
        if (not runs or envelope.type != run_type or len(runs[-1]) >= max_envelopes
                or run_bytes + size > max_bytes):
            runs.append([])
            run_type, run_bytes = envelope.type, 0
        runs[-1].append(envelope.id)
        run_bytes += size
    return runs


@given(
    items=st.lists(st.tuples(st.sampled_from(["message.accepted"] * 9 + ["wallet.funds_reserved"]),
                             st.integers(0, 3000)), max_size=120),
    max_envelopes=st.sampled_from([1, 2, 7, 40, 1000]),
    max_bytes=st.integers(2, 40_000),
)
def test_each_message_takes_as_many_envelopes_as_the_bounds_allow(
    items: list[tuple[str, int]], max_envelopes: int, max_bytes: int,
) -> None:
    # Notes of varied lengths, so that a run's first envelope misjudges the rest.
    envelopes = [_envelope(i + 1, t, "x" * n) for i, (t, n) in enumerate(items)]
    batches = batches_of(envelopes, max_envelopes=max_envelopes, max_bytes=max_bytes)
    decoded = [decode_envelopes(b.payload) for b in batches]
    assert [[e.id for e in run] for run in decoded] == _greedy(
        envelopes, max_envelopes, max_bytes)
    assert [e for run in decoded for e in run] == envelopes
    assert all(b.payload == b"[" + b",".join(encode_envelope(e) for e in run) + b"]"
               for b, run in zip(batches, decoded, strict=True))
