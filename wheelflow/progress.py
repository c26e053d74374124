"""A tiny progress channel: stages report, whoever listens (the CLI's progress bar) shows it.

Reporting is a no-op when nobody listens, so flows and scripts can always call ``report``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str, int, int], None]  # (stage, done, total)
_listeners: list[Listener] = []


def report(stage: str, done: int = 0, total: int = 1) -> None:
    for listener in list(_listeners):
        listener(stage, done, total)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)
