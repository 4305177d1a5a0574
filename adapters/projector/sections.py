"""The log as a rebuild reads it: sections of the events one projection reads.

Rows come straight from the events table (`adapters.eventstore.rows`). The
server filters by topic, so a projection that reads a hundred events of a
million is sent those hundred, not the million. The reading and decoding run
in a thread on a connection of their own, a few sections ahead of the
caller: while the caller waits for PostgreSQL to write one section, the next
is being fetched and decoded.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import Mapper
from psycopg import Connection
from psycopg_pool import ConnectionPool

from adapters.eventstore.envelopes import envelopes_of_rows
from adapters.eventstore.rows import RowQuery
from domain.published import Envelope

# A section is a range of notification ids, not a number of matching rows:
# its cost stays bounded whatever plan the server picks. With "LIMIT n" and
# no statistics on the table (a freshly filled store) the planner expects
# few rows of the topics and reads the whole rest of the log up to the
# target, then sorts it, for every section. The range ends at the target at
# most, so that events stored after the rebuild began are left to the live
# consumer.
_SECTION = (
    "notification_id > %s AND notification_id <= %s AND topic = ANY(%s)"
    " ORDER BY notification_id"
)
READ_AHEAD_SECTIONS = 2
_PUT_POLL_S = 0.1
_CONNECT_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Section:
    #: The log position the section takes the projection to: the end of its
    #: range of ids, whether or not it held events of the projection's topics.
    end: int
    rows_read: int
    envelopes: list[Envelope]


def read_sections(
    conn: Connection[Any], table: str, topics: Sequence[str], mapper: Mapper,  # type: ignore[type-arg]
    target: int, section_size: int,
) -> Iterator[Section]:
    """Sections of the events of `topics` with ids up to `target`, each
    covering `section_size` ids (the last one fewer)."""
    query = RowQuery(table, _SECTION)
    wanted, reached = list(topics), 0
    while reached < target:
        end = min(reached + section_size, target)
        rows = query.fetch(conn, (reached, end, wanted))
        yield Section(end, len(rows), envelopes_of_rows(mapper, rows))
        reached = end


class ReadAhead:
    """`read_sections` in a thread, at most `depth` sections ahead.

    Iterate it inside `with`: leaving the block stops the thread, also when
    the caller fails half way. An error of the reader is raised to the
    caller at the section where it happened.
    """

    def __init__(
        self, pool: ConnectionPool, table: str, topics: Sequence[str],
        mapper: Mapper, target: int, section_size: int,  # type: ignore[type-arg]
        depth: int = READ_AHEAD_SECTIONS,
    ) -> None:
        self._args = (table, topics, mapper, target, section_size)
        self._pool = pool
        self._queue: queue.Queue[Section | BaseException | None] = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rebuild-read", daemon=True)
        #: Seconds the thread spent reading and decoding sections.
        self.reading_s = 0.0
        #: Seconds the caller waited for a section that was not ready yet.
        self.waiting_s = 0.0

    def __enter__(self) -> ReadAhead:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def __iter__(self) -> Iterator[Section]:
        while True:
            started = time.perf_counter()
            item = self._queue.get()
            self.waiting_s += time.perf_counter() - started
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _run(self) -> None:
        try:
            with self._pool.connection(timeout=_CONNECT_TIMEOUT_S) as conn:
                sections = read_sections(conn, *self._args)
                while True:
                    started = time.perf_counter()
                    section = next(sections, None)
                    self.reading_s += time.perf_counter() - started
                    if section is None:
                        break
                    if not self._put(section):
                        return
            self._put(None)
        except BaseException as error:  # handed to the caller, raised there
            self._put(error)

    def _put(self, item: Section | BaseException | None) -> bool:
        """Waits for room; False once the caller has stopped listening."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_PUT_POLL_S)
                return True
            except queue.Full:
                continue
        return False
