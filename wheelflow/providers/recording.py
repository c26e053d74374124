"""Record what a provider serves, as the ``files`` provider replays it.

``wheelflow run --record DIR`` wraps the run's provider in :class:`RecordingProvider`: every
chain batch, the daily bars and the dividend and earnings feeds it returns are written, as
fetched (parse errors included), to Parquet files under ``DIR/<snapshot date>/``:

- ``chains-<snapshot>-<n>.parquet``: CHAIN_COLUMNS plus ``snapshot_at``, one file per batch;
- ``bars-<snapshot>-<n>.parquet``, ``dividends-<snapshot>-<n>.parquet``,
  ``earnings-<snapshot>-<n>.parquet``.

``WHEELFLOW_PROVIDER=files WHEELFLOW_FILES_PATH=DIR`` (or ``wheelflow run --as-of TIME --replay
DIR``) replays any recorded snapshot through the same pipeline, whichever provider recorded it.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from wheelflow.providers.base import ChainFetch, MarketDataProvider, has_capability

MANIFEST = "recording.json"  # which provider recorded, and its exercise style


def recorded_exercise_style(directory: Path) -> str | None:
    """The exercise style of the provider that recorded ``directory`` (None: unknown)."""
    manifest = Path(directory) / MANIFEST
    if not manifest.is_file():
        return None
    style = json.loads(manifest.read_text()).get("exercise_style")
    return str(style) if style in ("american", "european") else None


def open_recording(directory: Path, exercise_style: str = "auto", snapshot: str = "") -> Any:
    """The ``files`` provider over a recording, at ``snapshot`` (default: the latest).

    ``exercise_style`` "auto" takes the recording provider's own (US equity options: american).
    """
    from wheelflow.providers.files import FileChains

    if exercise_style == "auto":
        exercise_style = recorded_exercise_style(directory) or "american"
    return FileChains(directory, snapshot=snapshot, exercise_style=exercise_style)


class RecordingProvider:
    """``inner``'s answers, each also written under ``directory`` (thread-safe, batch-parallel)."""

    def __init__(self, inner: MarketDataProvider, directory: Path) -> None:
        self.inner = inner
        self.directory = Path(directory)
        self.name = inner.name
        self.exercise_style = inner.exercise_style
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._snapshot = inner.snapshot_time()
        self.directory.mkdir(parents=True, exist_ok=True)
        manifest = self.directory / MANIFEST
        if not manifest.exists():
            manifest.write_text(
                json.dumps({"provider": inner.name, "exercise_style": inner.exercise_style})
            )

    def __getattr__(self, name: str) -> Any:
        # Optional capabilities the recorder does not record pass straight through.
        return getattr(self.inner, name)

    def _write(self, kind: str, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        day = self.directory / f"{self._snapshot:%Y-%m-%d}"
        day.mkdir(parents=True, exist_ok=True)
        with self._lock:
            n = next(self._counter)
        path = day / f"{kind}-{self._snapshot:%Y%m%dT%H%M%S}-{n:04d}.parquet"
        frame.to_parquet(path, index=False)

    def snapshot_time(self) -> dt.datetime:
        return self._snapshot

    def quotes(self, symbols: Sequence[str]) -> pd.DataFrame:
        return self.inner.quotes(symbols)

    def price_history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        bars = self.inner.price_history(symbols, start, end)
        self._write("bars", bars)
        return bars

    def expirations(self, symbol: str) -> list[dt.date]:
        return self.inner.expirations(symbol)

    def option_chain(
        self, symbol: str, expirations: Sequence[dt.date] | None = None
    ) -> pd.DataFrame:
        chain = self.inner.option_chain(symbol, expirations)
        self._write("chains", chain.assign(snapshot_at=self._snapshot))
        return chain

    def option_chains(self, symbols: Sequence[str]) -> ChainFetch:
        fetch = self.inner.option_chains(symbols)
        self._write("chains", fetch.chains.assign(snapshot_at=self._snapshot))
        return fetch

    def dividends(self, symbols: Sequence[str]) -> pd.DataFrame:
        frame: pd.DataFrame = self.inner.dividends(symbols)  # type: ignore[attr-defined]
        self._write("dividends", frame)
        return frame

    def earnings(self, symbols: Sequence[str]) -> pd.DataFrame:
        frame: pd.DataFrame = self.inner.earnings(symbols)  # type: ignore[attr-defined]
        self._write("earnings", frame)
        return frame


def recording(provider: MarketDataProvider, directory: Path | None) -> MarketDataProvider:
    """``provider`` itself, or wrapped to record into ``directory``."""
    if directory is None:
        return provider
    wrapped = RecordingProvider(provider, directory)
    # Keep optional capabilities optional: a provider without a feed must not seem to have one.
    for feed in ("dividends", "earnings"):
        if not has_capability(provider, feed):
            setattr(wrapped, feed, None)
    return wrapped
