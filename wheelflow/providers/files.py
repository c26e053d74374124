"""Recorded option chains from CSV or Parquet files, replayed through the provider interface.

``WHEELFLOW_FILES_PATH`` names one file or a directory of them (``*.csv``, ``*.csv.gz``,
``*.parquet``). Chain files have one row per contract per snapshot:

- the contract: ``occ_symbol``, or ``underlying``, ``expiration`` (YYYY-MM-DD), ``strike``,
  ``right`` (P/C/put/call), or both;
- ``bid``, ``ask``, ``underlying_price`` (USD per share); optional ``last``, ``volume``,
  ``open_interest``, ``quote_time`` (ISO, UTC when no offset is given);
- optional ``snapshot_at`` (ISO, UTC): several snapshots in one set of files. The provider replays
  ``WHEELFLOW_FILES_SNAPSHOT`` or, when empty, the latest.

Files whose name starts with ``bars`` hold daily bars (``symbol, bar_date, open, high, low, close,
volume``) for ``price_history``; files starting with ``dividends`` (``symbol, ex_date, amount``) and
``earnings`` (``symbol, earnings_date``) are the optional event feeds. A value that does not
parse keeps its row, with ``parse_error`` naming the file's column, so a gate quarantines it.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from wheelflow.errors import ProviderError
from wheelflow.occ import build_occ_symbols
from wheelflow.providers._payload import add_errors, fill_from_occ, normalize_records
from wheelflow.providers.base import (
    BAR_COLUMNS,
    CHAIN_COLUMNS,
    DIVIDEND_COLUMNS,
    EARNINGS_COLUMNS,
    QUOTE_COLUMNS,
    ChainFetch,
    conform,
    empty_frame,
)
from wheelflow.settings import Settings

SUFFIXES = (".csv", ".csv.gz", ".parquet")
_CHAIN_FIELDS: dict[str, tuple[str, Any]] = {
    "occ_symbol": ("occ_symbol", "str"),
    "underlying": ("underlying", "str"),
    "expiration": ("expiration", "date"),
    "strike": ("strike", "float"),
    "right": ("right", "right"),
    "bid": ("bid", "float"),
    "ask": ("ask", "float"),
    "last": ("last", "float"),
    "volume": ("volume", "int"),
    "open_interest": ("open_interest", "int"),
    "underlying_price": ("underlying_price", "float"),
    "quote_time": ("quote_time", "time_utc"),
    "snapshot_at": ("snapshot_at", "time_utc"),
}
_BAR_FIELDS: dict[str, tuple[str, Any]] = {
    "symbol": ("symbol", "str"),
    "bar_date": ("bar_date", "date"),
    "open": ("open", "float"),
    "high": ("high", "float"),
    "low": ("low", "float"),
    "close": ("close", "float"),
    "volume": ("volume", "int"),
}

# Side tables read by file-name prefix: their fields (file column = frame column) and columns.
_SIDE_TABLES: dict[str, tuple[dict[str, tuple[str, Any]], tuple[str, ...]]] = {
    "bars": (_BAR_FIELDS, BAR_COLUMNS),
    "dividends": (
        {
            "symbol": ("symbol", "str"),
            "ex_date": ("ex_date", "date"),
            "amount": ("amount", "float"),
        },
        DIVIDEND_COLUMNS,
    ),
    "earnings": (
        {"symbol": ("symbol", "str"), "earnings_date": ("earnings_date", "date")},
        EARNINGS_COLUMNS,
    ),
}


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():  # recordings keep one sub-directory per day
        return sorted(
            p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(SUFFIXES)
        )
    raise ProviderError(
        f"files: {path} does not exist (set WHEELFLOW_FILES_PATH)",
        provider="files",
        retryable=False,
    )


def read_table(path: Path) -> pd.DataFrame:
    """One CSV (every value as text, parsed later) or Parquet file."""
    try:
        if path.name.lower().endswith(".parquet"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=True)
    except (OSError, ValueError) as exc:
        raise ProviderError(
            f"files: cannot read {path}: {exc}", provider="files", retryable=False
        ) from None


def parse_chain_file(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """A recorded chain table -> CHAIN_COLUMNS plus ``snapshot_at``.

    Raises ``ProviderError`` naming ``source`` when the contract or price columns are missing.
    """
    has_occ = "occ_symbol" in raw.columns
    has_terms = {"underlying", "expiration", "strike", "right"} <= set(raw.columns)
    missing = [c for c in ("bid", "ask", "underlying_price") if c not in raw.columns]
    if not (has_occ or has_terms) or missing:
        need = missing + (
            []
            if has_occ or has_terms
            else ["occ_symbol (or underlying, expiration, strike, right)"]
        )
        raise ProviderError(
            f"files: {source} lacks columns {', '.join(need)}", provider="files", retryable=False
        )
    frame = normalize_records(raw.reset_index(drop=True), _CHAIN_FIELDS, provider="files")
    if has_occ:
        frame = fill_from_occ(frame, provider="files", raw_name="occ_symbol")
    else:
        ok = frame[["underlying", "expiration", "strike", "right"]].notna().all(axis=1)
        built = build_occ_symbols(
            frame["underlying"].fillna(""),
            frame["expiration"].fillna(pd.Timestamp("1970-01-01")),
            frame["right"].fillna(""),
            frame["strike"].fillna(0.0),
        )
        frame["occ_symbol"] = built.where(ok, None)
        message = pd.Series("files: contract terms incomplete", index=frame.index)
        frame["parse_error"] = add_errors(frame["parse_error"].astype(object), ~ok, message)
    chain = conform(frame, CHAIN_COLUMNS)
    chain["snapshot_at"] = frame["snapshot_at"].to_numpy()
    return chain


class FileChains:
    """Replays recorded chain snapshots from CSV/Parquet files (no network)."""

    name = "files"

    def __init__(self, path: Path, *, snapshot: str = "", exercise_style: str = "american") -> None:
        self.path = Path(path)
        self.exercise_style = exercise_style
        chains: list[pd.DataFrame] = []
        side: dict[str, list[pd.DataFrame]] = {name: [] for name in _SIDE_TABLES}
        for file in _files(self.path):
            table = read_table(file)
            kind = next((k for k in _SIDE_TABLES if file.name.lower().startswith(k)), None)
            if kind is not None:
                fields, columns = _SIDE_TABLES[kind]
                frame = normalize_records(table.reset_index(drop=True), fields, provider="files")
                side[kind].append(conform(frame, columns))
            else:
                chains.append(parse_chain_file(table, file.name))
        if not chains:
            raise ProviderError(
                f"files: no chain files in {self.path}", provider="files", retryable=False
            )
        everything = pd.concat(chains, ignore_index=True)
        self.snapshots = sorted(everything["snapshot_at"].dropna().unique())
        self._everything = everything
        self._chain, self._snapshot = self._select(everything, snapshot)
        # A recording holds what each fetch returned, so the same bar, dividend or earnings date
        # can be there several times: one row per symbol and date (the latest recorded).
        self._side = {
            kind: pd.concat(frames, ignore_index=True).drop_duplicates(
                list(_SIDE_TABLES[kind][1][:2]), keep="last"
            )
            if frames
            else empty_frame(_SIDE_TABLES[kind][1])
            for kind, frames in side.items()
        }
        self._bars = self._side["bars"]

    @classmethod
    def from_settings(cls, settings: Settings) -> FileChains:
        if settings.files_path is None:
            raise ProviderError(
                "files provider needs WHEELFLOW_FILES_PATH (a chain file or directory)",
                provider="files",
                retryable=False,
            )
        return cls(
            settings.files_path,
            snapshot=settings.files_snapshot,
            exercise_style=settings.exercise_style,
        )

    def _select(self, chain: pd.DataFrame, wanted: str) -> tuple[pd.DataFrame, dt.datetime]:
        if not self.snapshots:
            at = chain["quote_time"].max()
            if pd.isna(at):
                raise ProviderError(
                    f"files: {self.path} has neither snapshot_at nor quote_time to date the replay",
                    provider="files",
                    retryable=False,
                )
            return chain.drop(columns="snapshot_at"), pd.Timestamp(at).to_pydatetime()
        if wanted:
            at = (
                pd.Timestamp(wanted).tz_localize(None)
                if pd.Timestamp(wanted).tzinfo is None
                else (pd.Timestamp(wanted).tz_convert("UTC").tz_localize(None))
            )
            if at not in set(self.snapshots):
                raise ProviderError(
                    f"files: snapshot {wanted} is not recorded; have {len(self.snapshots)} from "
                    f"{pd.Timestamp(self.snapshots[0])} to {pd.Timestamp(self.snapshots[-1])}",
                    provider="files",
                    retryable=False,
                )
        else:
            at = pd.Timestamp(self.snapshots[-1])
        # Rows with an unreadable snapshot_at belong to no snapshot; they are dropped here.
        selected = chain[chain["snapshot_at"] == at].drop(columns="snapshot_at")
        return selected.reset_index(drop=True), at.to_pydatetime()

    def snapshot_time(self) -> dt.datetime:
        return self._snapshot

    @property
    def symbols(self) -> list[str]:
        """The underlyings of the selected snapshot."""
        return sorted(self._chain["underlying"].dropna().unique())

    def at(self, snapshot: str | dt.datetime) -> FileChains:
        """The same recording at another of its snapshots (files read once, shared)."""
        other = copy.copy(self)
        other._chain, other._snapshot = self._select(self._everything, str(snapshot))
        return other

    def daily_snapshots(self) -> list[dt.datetime]:
        """The last recorded snapshot of each day, in order (what a daily replay steps through)."""
        stamps = pd.Series(pd.to_datetime(self.snapshots))
        if stamps.empty:
            return [self._snapshot]
        last = stamps.groupby(stamps.dt.date).max()
        return [ts.to_pydatetime() for ts in last]

    def quotes(self, symbols: Sequence[str]) -> pd.DataFrame:
        """Quotes implied by the recording: ``last`` is the underlying price of the snapshot."""
        chain = self._chain[self._chain["underlying"].isin(list(symbols))]
        grouped = chain.groupby("underlying", sort=True)
        quotes = pd.DataFrame(
            {
                "symbol": grouped["underlying_price"].first().index,
                "last": grouped["underlying_price"].first().to_numpy(),
                "quote_time": grouped["quote_time"].max().to_numpy(),
            }
        )
        return conform(quotes, QUOTE_COLUMNS)

    def price_history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        bars = self._bars
        keep = bars["symbol"].isin(list(symbols)) & bars["bar_date"].between(
            pd.Timestamp(start), pd.Timestamp(end)
        )
        return bars[keep].reset_index(drop=True)

    def dividends(self, symbols: Sequence[str]) -> pd.DataFrame:
        """Recorded dividends (``dividends*`` files); empty when none were recorded."""
        div = self._side["dividends"]
        return div[div["symbol"].isin(list(symbols))].reset_index(drop=True)

    def earnings(self, symbols: Sequence[str]) -> pd.DataFrame:
        """Recorded earnings dates (``earnings*`` files)."""
        earn = self._side["earnings"]
        return earn[earn["symbol"].isin(list(symbols))].reset_index(drop=True)

    def expirations(self, symbol: str) -> list[dt.date]:
        exp = self._chain.loc[self._chain["underlying"] == symbol, "expiration"].dropna()
        return sorted({d.date() for d in exp})

    def option_chain(
        self, symbol: str, expirations: Sequence[dt.date] | None = None
    ) -> pd.DataFrame:
        chain = self._chain[self._chain["underlying"] == symbol]
        if expirations is not None:
            chain = chain[chain["expiration"].isin(pd.to_datetime(pd.Series(list(expirations))))]
        return chain.reset_index(drop=True)

    def option_chains(self, symbols: Sequence[str]) -> ChainFetch:
        chains = self._chain[self._chain["underlying"].isin(list(symbols))].reset_index(drop=True)
        unparsed = self._chain[self._chain["underlying"].isna()]
        if not unparsed.empty:
            # Rows whose contract could not be read belong to no symbol; keep them for the gate.
            chains = pd.concat([chains, unparsed], ignore_index=True)
        present = set(chains["underlying"].dropna())
        failures = {
            s: f"files: {s} is not in the recorded snapshot {self._snapshot:%Y-%m-%d %H:%M}"
            for s in symbols
            if s not in present
        }
        return ChainFetch(chains=conform(chains, CHAIN_COLUMNS), failures=failures)
