"""A rebuild drops a read model's secondary indexes for speed and always puts them back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from adapters.bootstrap.container import Container
from adapters.projector.rebuild import rebuild
from domain.published import Envelope
from projections.registry import ALL_PROJECTIONS, by_name
from tests.integration.projections.test_live_projections import _mixed_workload


def _index_definitions(container: Container) -> list[tuple[str, str]]:
    tables = [t for p in ALL_PROJECTIONS for t in p.tables]
    with container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)"
            " ORDER BY indexname", (tables,),
        ).fetchall()
    return [(str(name), str(definition)) for name, definition in rows]


def test_a_rebuild_keeps_every_index(container: Container) -> None:
    _mixed_workload(container)
    before = _index_definitions(container)
    assert any("message_log_status_idx" in name for name, _ in before)
    for projection in ALL_PROJECTIONS:
        rebuild(projection, container.pool, container.app.recorder, container.app.mapper)
    assert _index_definitions(container) == before


class _Failing:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.name, self.tables, self.event_types = inner.name, inner.tables, inner.event_types
        self.schema_version = inner.schema_version

    def ddl(self) -> str:
        return str(self._inner.ddl())

    def apply(self, cursor: Any, envelopes: Sequence[Envelope]) -> None:
        raise RuntimeError("the rebuild fails half way")


def test_a_failed_rebuild_puts_the_indexes_back(container: Container) -> None:
    _mixed_workload(container)
    before = _index_definitions(container)
    with pytest.raises(RuntimeError, match="half way"):
        rebuild(_Failing(by_name("message_log")), container.pool,  # type: ignore[arg-type]
                container.app.recorder, container.app.mapper)
    assert _index_definitions(container) == before
    rebuild(by_name("message_log"), container.pool, container.app.recorder, container.app.mapper)
