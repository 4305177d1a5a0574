"""The projection runner's guarantees, on real PostgreSQL: a batch applied
twice changes nothing, a failed batch is retried and applied once, and a
poison envelope is parked after the configured deliveries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from psycopg import Cursor

from adapters.bootstrap.container import Container
from adapters.jetstream.batches import batches_of, decode_envelopes, encode_envelope
from adapters.projector import runner as runner_module
from adapters.projector.runner import Delivery, ProjectionRunner
from domain.published import Envelope

MAX_DELIVERIES = 3


class RecordingProjection:
    """Records each envelope id under a primary key: applying one twice fails."""

    event_types = frozenset({"message.accepted", "message.delivery_reported"})
    schema_version = 1

    def __init__(self, poison_ids: frozenset[int] = frozenset(), flaky_once: bool = False):
        self.name = f"test_{uuid4().hex[:12]}"
        self.table = f"rm_{self.name}"
        self.tables = (self.table,)
        self.poison_ids = poison_ids
        self.flaky_once = flaky_once
        self.calls = 0

    def ddl(self) -> str:
        return f"CREATE TABLE IF NOT EXISTS {self.table} (envelope_id bigint PRIMARY KEY)"

    def apply(self, cursor: Cursor[tuple[object, ...]], envelopes: Sequence[Envelope]) -> None:
        self.calls += 1
        cursor.executemany(
            f"INSERT INTO {self.table} (envelope_id) VALUES (%s)",
            [(e.id,) for e in envelopes],
        )
        if self.flaky_once and self.calls == 1:
            raise ConnectionError("the database went away before the commit")
        if any(e.id in self.poison_ids for e in envelopes):
            raise ValueError("this envelope cannot be projected")

    def applied_ids(self, container: Container) -> list[int]:
        with container.pool.connection() as conn:
            rows = conn.execute(f"SELECT envelope_id FROM {self.table} ORDER BY 1").fetchall()
        return [int(row[0]) for row in rows]


def _envelope(envelope_id: int, envelope_type: str = "message.accepted") -> Envelope:
    return Envelope(
        id=envelope_id,
        type=envelope_type,
        version=1,
        occurred_at=datetime.now(UTC),
        account_id="acct",
        aggregate_id=uuid4(),
        aggregate_version=1,
        data={},
    )


def _deliveries(ids: Sequence[int], types: Sequence[str] | None = None) -> list[Delivery]:
    """One published message per envelope."""
    result = []
    for index, envelope_id in enumerate(ids):
        envelope = _envelope(envelope_id, types[index] if types else "message.accepted")
        result.append(Delivery(None, [envelope], encode_envelope(envelope), envelope_id))
    return result


def _run(ids: Sequence[int]) -> Delivery:
    """One published message holding a run of envelopes, as the relay sends them."""
    envelopes = [_envelope(envelope_id) for envelope_id in ids]
    batch = batches_of(envelopes)
    assert len(batch) == 1
    return Delivery(None, decode_envelopes(batch[0].payload), batch[0].payload, ids[-1])


@pytest.fixture
def projection_factory(container: Container) -> Iterator:
    made: list[RecordingProjection] = []

    def make(**kwargs: object) -> RecordingProjection:
        projection = RecordingProjection(**kwargs)  # type: ignore[arg-type]
        with container.pool.connection() as conn:
            conn.execute(projection.ddl())
        made.append(projection)
        return projection

    yield make
    with container.pool.connection() as conn:
        for projection in made:
            conn.execute(f"DROP TABLE IF EXISTS {projection.table}")
            conn.execute("DELETE FROM projection_positions WHERE name = %s", (projection.name,))
            conn.execute(
                "DELETE FROM projection_dead_letters WHERE projection = %s", (projection.name,)
            )


def _position(container: Container, name: str) -> int:
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT position FROM projection_positions WHERE name = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_batch_delivered_twice_is_applied_once(container: Container, projection_factory) -> None:
    projection = projection_factory()
    runner = ProjectionRunner(projection, container.pool, max_deliveries=MAX_DELIVERIES)
    batch = _deliveries([11, 12, 13])
    runner.apply_batch(batch)
    runner.apply_batch(batch)  # NATS redelivers when the ack was lost
    runner.apply_batch(_deliveries([12, 13, 14]))  # overlapping redelivery
    assert projection.applied_ids(container) == [11, 12, 13, 14]
    assert _position(container, projection.name) == 14


def test_types_the_projection_ignores_still_advance_its_position(
    container: Container, projection_factory
) -> None:
    projection = projection_factory()
    runner = ProjectionRunner(projection, container.pool, max_deliveries=MAX_DELIVERIES)
    runner.apply_batch(_deliveries([5, 6], ["wallet.opened", "message.accepted"]))
    assert projection.applied_ids(container) == [6]
    assert _position(container, projection.name) == 6


def test_a_crash_before_commit_is_retried_and_applied_once(
    container: Container, projection_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "RETRY_BACKOFF_BASE_S", 0.001)
    projection = projection_factory(flaky_once=True)
    runner = ProjectionRunner(projection, container.pool, max_deliveries=MAX_DELIVERIES)
    runner.apply_batch(_deliveries([21, 22, 23]))
    assert projection.applied_ids(container) == [21, 22, 23]
    assert runner.stats.parked == 0


def test_a_poison_envelope_is_parked_and_the_projection_goes_on(
    container: Container, projection_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "RETRY_BACKOFF_BASE_S", 0.001)
    projection = projection_factory(poison_ids=frozenset({32}))
    runner = ProjectionRunner(projection, container.pool, max_deliveries=MAX_DELIVERIES)
    runner.apply_batch(_deliveries([31, 32, 33]))
    assert projection.applied_ids(container) == [31, 33]
    assert runner.stats.parked_ids == [32]
    assert _position(container, projection.name) == 33
    with container.pool.connection() as conn:
        parked = conn.execute(
            "SELECT envelope_id, deliveries, error FROM projection_dead_letters"
            " WHERE projection = %s", (projection.name,),
        ).fetchall()
    assert [(row[0], row[1]) for row in parked] == [(32, MAX_DELIVERIES)]
    assert "cannot be projected" in parked[0][2]
    # Applying the poison and the good ones: one per delivery, then parked.
    assert projection.calls == 1 + 1 + MAX_DELIVERIES + 1


def test_a_batch_is_turned_away_while_a_rebuild_holds_the_lock(
    container: Container, projection_factory
) -> None:
    from adapters.projector.positions import projection_lock_key
    from adapters.projector.runner import ProjectionBusy

    projection = projection_factory()
    runner = ProjectionRunner(projection, container.pool, max_deliveries=MAX_DELIVERIES)
    with container.pool.connection() as holder:
        holder.execute(
            "SELECT pg_advisory_lock(hashtext(%s))", (projection_lock_key(projection.name),)
        )
        with pytest.raises(ProjectionBusy):
            runner.apply_batch(_deliveries([41]))
        holder.execute(
            "SELECT pg_advisory_unlock(hashtext(%s))", (projection_lock_key(projection.name),)
        )
    runner.apply_batch(_deliveries([41]))
    assert projection.applied_ids(container) == [41]


def test_a_batch_waits_while_another_schema_version_wrote_the_read_model(
    container: Container, projection_factory
) -> None:
    from adapters.projector.positions import ProjectionOutdated

    projection = projection_factory()
    ProjectionRunner(projection, container.pool, max_deliveries=MAX_DELIVERIES).apply_batch(
        _deliveries([51]))
    newer = RecordingProjection()
    newer.name, newer.table, newer.tables = projection.name, projection.table, projection.tables
    newer.schema_version = 2  # deployed before `migrate` rebuilt the read model
    runner = ProjectionRunner(newer, container.pool, max_deliveries=MAX_DELIVERIES)
    with pytest.raises(ProjectionOutdated):
        runner.apply_batch(_deliveries([52]))
    assert runner.stats.parked == 0  # held back, not parked
    assert projection.applied_ids(container) == [51]
    assert _position(container, projection.name) == 51


def test_a_poison_envelope_inside_a_run_is_parked_alone(
    container: Container, projection_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "RETRY_BACKOFF_BASE_S", 0.001)
    projection = projection_factory(poison_ids=frozenset({52}))
    runner = ProjectionRunner(projection, container.pool, max_deliveries=MAX_DELIVERIES)
    runner.apply_batch([_run([51, 52, 53]), _run([54, 55])])
    assert projection.applied_ids(container) == [51, 53, 54, 55]
    assert runner.stats.parked_ids == [52]
    assert _position(container, projection.name) == 55


def test_a_run_redelivered_after_its_commit_is_skipped(
    container: Container, projection_factory
) -> None:
    projection = projection_factory()
    runner = ProjectionRunner(projection, container.pool, max_deliveries=MAX_DELIVERIES)
    runner.apply_batch([_run([61, 62, 63])])
    # A relay that crashed before saving its position re-reads a longer run.
    runner.apply_batch([_run([61, 62, 63, 64])])
    assert projection.applied_ids(container) == [61, 62, 63, 64]
