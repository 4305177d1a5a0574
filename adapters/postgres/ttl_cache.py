"""A small thread-safe cache whose entries expire after a fixed time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Entries live `ttl_s` seconds. When full it starts afresh rather than
    tracking recency: a refill costs one query per live key, and the bound
    keeps a flood of distinct bad keys from growing memory."""

    def __init__(self, ttl_s: float, max_entries: int) -> None:
        assert ttl_s > 0 and max_entries > 0
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._items: dict[K, tuple[float, V]] = {}
        self._guard = threading.Lock()

    def get(self, key: K) -> V | None:
        item = self._items.get(key)  # a dict read is atomic under the GIL
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: K, value: V) -> None:
        with self._guard:
            if len(self._items) >= self._max_entries:
                self._items.clear()
            self._items[key] = (time.monotonic() + self._ttl_s, value)

    def discard(self, key: K) -> None:
        with self._guard:
            self._items.pop(key, None)

    def discard_where(self, predicate: Callable[[V], bool]) -> int:
        """Drops every entry whose value matches; returns how many. Linear in
        the cache's size, for rare events such as a revocation."""
        with self._guard:
            doomed = [k for k, (_, v) in self._items.items() if predicate(v)]
            for key in doomed:
                del self._items[key]
        return len(doomed)
