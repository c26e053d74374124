"""A small in-process cache with stale-while-revalidate and single flight, for hot read pages.

A fresh entry is served as is. Once stale, exactly one caller recomputes it while the others
keep getting the stale value, so expiry never turns into a burst of identical database queries.
Entries are dropped after ``max_entries`` (oldest first). Thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class StaleWhileRevalidate(Generic[T]):
    def __init__(self, ttl_seconds: float, max_entries: int = 512) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._refreshing: set[Hashable] = set()
        self._lock = threading.Lock()

    def peek(self, key: Hashable) -> T | None:
        """The cached value when it is fresh, or stale while another caller refreshes it."""
        if self.ttl <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            stored_at, value = entry
            if time.monotonic() - stored_at < self.ttl or key in self._refreshing:
                return value
            self._refreshing.add(key)  # this caller refreshes; the others keep the stale value
            return None

    def clear(self) -> None:
        """Drop every entry (a new pipeline run makes them all outdated)."""
        with self._lock:
            self._entries.clear()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value, computing (and storing) it when missing or due for refresh."""
        value = self.peek(key)
        if value is not None:
            return value
        try:
            value = compute()
        except BaseException:
            with self._lock:
                self._refreshing.discard(key)
            raise
        if self.ttl > 0:
            with self._lock:
                self._refreshing.discard(key)
                self._entries[key] = (time.monotonic(), value)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return value
