"""State that several API processes must share: rate-limit counters, the session cache and
revocations, hot pages. Redis when ``WHEELFLOW_REDIS_URL`` is set, else one process's memory
(the embedded default: a single ``wheelflow api`` process).

Values are bytes; every key gets ``WHEELFLOW_REDIS_KEY_PREFIX`` so several deployments (or test
runs) can share one Redis without meeting.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Protocol

import redis


class SharedState(Protocol):
    remote: bool  # True when calls do network I/O (run them off the event loop)

    def get_many(self, keys: list[str]) -> list[bytes | None]: ...

    def set(self, key: str, value: bytes, ttl_seconds: float) -> None: ...

    def add(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        """Set ``key`` only if it is absent (a lock); True when this call set it."""
        ...

    def incr(self, key: str, ttl_seconds: float) -> int:
        """Add one to a counter that expires ``ttl_seconds`` after its first increment."""
        ...

    def delete(self, *keys: str) -> None: ...


class MemoryState:
    """One process's state: a bounded, thread-safe dict with expiry times."""

    remote = False

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= now:
            del self._items[key]
            return None
        return item[1]

    def _store(self, key: str, value: bytes, ttl_seconds: float, now: float) -> None:
        self._items[key] = (now + ttl_seconds, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        now = time.monotonic()
        with self._lock:
            return [self._live(k, now) for k in keys]

    def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        with self._lock:
            self._store(key, value, ttl_seconds, time.monotonic())

    def add(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._live(key, now) is not None:
                return False
            self._store(key, value, ttl_seconds, now)
            return True

    def incr(self, key: str, ttl_seconds: float) -> int:
        now = time.monotonic()
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] <= now:
                count, expires = 1, now + ttl_seconds
            else:
                count, expires = int(item[1]) + 1, item[0]
            self._items[key] = (expires, str(count).encode())
            return count

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._items.pop(key, None)


class RedisState:
    """State in Redis under ``prefix``; counters are atomic (INCR, then EXPIRE on the first)."""

    remote = True

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def _key(self, key: str) -> str:
        return self.prefix + key

    def get_many(self, keys: list[str]) -> list[bytes | None]:
        return list(self.client.mget([self._key(k) for k in keys]))  # type: ignore[arg-type]

    def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        self.client.set(self._key(key), value, px=max(1, int(ttl_seconds * 1000)))

    def add(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        done = self.client.set(self._key(key), value, px=max(1, int(ttl_seconds * 1000)), nx=True)
        return bool(done)

    def incr(self, key: str, ttl_seconds: float) -> int:
        with self.client.pipeline() as pipe:
            pipe.incr(self._key(key))
            pipe.expire(self._key(key), max(1, int(ttl_seconds)), nx=True)
            count, _ = pipe.execute()
        return int(count)

    def delete(self, *keys: str) -> None:
        if keys:
            self.client.delete(*(self._key(k) for k in keys))


def shared_state(redis_url: str, prefix: str) -> SharedState:
    """Redis state when ``redis_url`` is set, else this process's memory."""
    return RedisState(redis_url, prefix) if redis_url else MemoryState()
