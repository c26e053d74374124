"""A small in-process cache with stale-while-revalidate and single flight, for hot read pages.

A fresh entry is served as is. Once stale, exactly one caller recomputes it while the others
keep getting the stale value, so expiry never turns into a burst of identical database queries.
Entries are dropped after ``max_entries`` (oldest first). Thread-safe.
``SharedStaleWhileRevalidate`` keeps the pages in the shared state (Redis) instead, so several
API processes share them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import msgspec

from wheelflow.shared_state import SharedState

T = TypeVar("T")


class StaleWhileRevalidate(Generic[T]):
    remote = False

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


class SharedStaleWhileRevalidate:
    """The same policy over the shared state (Redis when configured): all API processes serve
    one copy of a page, and one caller among all of them refreshes it when stale.

    Values are tuples of bytes/str (rendered pages), stored as MessagePack; an entry outlives
    its freshness by ``keep_stale`` times ``ttl`` so a stale copy is there to serve during a
    refresh.
    """

    remote = True

    def __init__(self, state: SharedState, ttl_seconds: float, keep_stale: float = 10.0) -> None:
        self.state = state
        self.ttl = ttl_seconds
        self.keep_stale = keep_stale
        self.cleared_at = 0.0

    def clear(self) -> None:
        """Treat every page stored before now as missing (a new pipeline run outdates them).

        Each API process's live watcher calls this when it sees the run, so no shared delete
        is needed: a page stored before the clear is recomputed once, then shared again."""
        self.cleared_at = time.time()

    @staticmethod
    def _key(key: Hashable) -> str:
        return "page:" + hashlib.sha256(repr(key).encode()).hexdigest()[:32]

    def peek(self, key: Hashable) -> tuple[Any, ...] | None:
        if self.ttl <= 0:
            return None
        name = self._key(key)
        (raw,) = self.state.get_many([name])
        if raw is None:
            return None
        stored_at, value = msgspec.msgpack.decode(raw)
        if stored_at < self.cleared_at:
            return None
        if time.time() - stored_at < self.ttl:
            return tuple(value)
        if self.state.add(name + ":refresh", b"1", max(self.ttl, 1.0)):
            return None  # this caller refreshes; the others keep the stale value
        return tuple(value)

    def get(self, key: Hashable, compute: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
        value = self.peek(key)
        if value is not None:
            return value
        name = self._key(key)
        try:
            value = compute()
        finally:
            self.state.delete(name + ":refresh")
        if self.ttl > 0:
            encoded = msgspec.msgpack.encode((time.time(), list(value)))
            self.state.set(name, encoded, self.ttl * (1 + self.keep_stale))
        return value
