"""How a rebuild reads the log: raw rows of its own topics, in sections that
always end at the target, read ahead in a thread."""

from __future__ import annotations

import psycopg
import pytest

from adapters.bootstrap.container import Container
from adapters.eventstore.envelopes import envelopes_of, envelopes_of_rows
from adapters.projector.rebuild import rebuild
from adapters.projector.sections import ReadAhead, read_sections
from adapters.projector.status import topics_of
from projections.registry import by_name
from tests.integration.projections.test_live_projections import _mixed_workload


def _table(container: Container) -> str:
    return str(container.app.recorder.events_table_name)  # type: ignore[attr-defined]


def test_raw_rows_give_the_envelopes_notifications_give(container: Container) -> None:
    _mixed_workload(container)
    recorder, mapper = container.app.recorder, container.app.mapper
    notifications = recorder.select_notifications(1, 1_000_000)
    with container.pool.connection() as conn, conn.cursor(binary=True) as cursor:
        rows = cursor.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state"
            f" FROM {_table(container)} ORDER BY notification_id"
        ).fetchall()
    assert envelopes_of_rows(mapper, rows) == envelopes_of(mapper, notifications)


@pytest.mark.parametrize("section_size", [1, 3, 1000])
def test_sections_hold_every_event_of_the_topics_and_end_at_the_target(
    container: Container, section_size: int
) -> None:
    _mixed_workload(container)
    recorder, mapper = container.app.recorder, container.app.mapper
    projection = by_name("wallet_transactions")
    topics = topics_of(projection)
    target = recorder.max_notification_id() or 0
    wanted = envelopes_of(mapper, [
        n for n in recorder.select_notifications(1, 1_000_000) if n.topic in topics
    ])
    with container.pool.connection() as conn:
        sections = list(read_sections(
            conn, _table(container), topics, mapper, target, section_size))
    assert [e for s in sections for e in s.envelopes] == wanted
    ends = [s.end for s in sections]
    assert ends == sorted(set(ends)) and ends[-1] == target
    assert all(len(s.envelopes) <= section_size for s in sections)


def test_sections_without_events_of_the_topics_still_reach_the_target(
    container: Container,
) -> None:
    _mixed_workload(container)
    target = container.app.recorder.max_notification_id() or 0
    with container.pool.connection() as conn:
        sections = list(read_sections(
            conn, _table(container), ["no.such:Topic"], container.app.mapper, target, 1000))
    assert [s.end for s in sections] == [*range(1000, target, 1000), target]
    assert all(s.rows_read == 0 and s.envelopes == [] for s in sections)


def test_a_rebuild_reaches_the_end_of_the_log_whatever_its_last_event(
    container: Container,
) -> None:
    _mixed_workload(container)
    recorder = container.app.recorder
    projection = by_name("inbound")
    own = [n for n in recorder.select_notifications(1, 1_000_000)
           if n.topic in topics_of(projection)]
    target = recorder.max_notification_id() or 0
    assert not own or own[-1].id < target  # the log goes on after its last event
    result = rebuild(projection, container.pool, recorder, container.app.mapper)
    assert (result.events_read, result.position) == (len(own), target)
    with container.pool.connection() as conn:
        row = conn.execute(
            "SELECT position FROM projection_positions WHERE name = 'inbound'").fetchone()
    assert row is not None and row[0] == target


def test_a_reading_error_reaches_the_caller(container: Container) -> None:
    _mixed_workload(container)
    with pytest.raises(psycopg.errors.UndefinedTable), ReadAhead(
        container.pool, "no_such_table", ["x"], container.app.mapper, 10, 5
    ) as sections:
        list(sections)
