"""The provider interface and the frames every provider returns.

Frames (all timestamps naive UTC ``datetime64[ns]``; dates as normalized ``datetime64[ns]``):

QUOTE_COLUMNS  symbol, bid, ask, last, prev_close, volume, quote_time
BAR_COLUMNS    symbol, bar_date, open, high, low, close, volume
CHAIN_COLUMNS  occ_symbol, underlying, expiration, strike, right ('C'|'P'), bid, ask, last,
               volume, open_interest, underlying_price, quote_time, parse_error

``parse_error`` is None for a clean row; a provider that meets a malformed field keeps the row
and names the raw field there (e.g. ``"bid: 'abc' is not a number"``) so the chain gate
quarantines it with that reason instead of the run crashing or the row vanishing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import pandas as pd

from wheelflow.errors import ProviderError

QUOTE_COLUMNS: tuple[str, ...] = (
    "symbol",
    "bid",
    "ask",
    "last",
    "prev_close",
    "volume",
    "quote_time",
)
BAR_COLUMNS: tuple[str, ...] = ("symbol", "bar_date", "open", "high", "low", "close", "volume")
# Optional event feeds (provider capabilities ``dividends(symbols)`` and ``earnings(symbols)``):
# announced cash dividends (ex-dividend date, amount per share in USD) and earnings dates.
# ``parse_error`` names an unreadable raw field; such rows are quarantined, never used.
DIVIDEND_COLUMNS: tuple[str, ...] = ("symbol", "ex_date", "amount", "parse_error")
EARNINGS_COLUMNS: tuple[str, ...] = ("symbol", "earnings_date", "parse_error")
CHAIN_COLUMNS: tuple[str, ...] = (
    "occ_symbol",
    "underlying",
    "expiration",
    "strike",
    "right",
    "bid",
    "ask",
    "last",
    "volume",
    "open_interest",
    "underlying_price",
    "quote_time",
    "parse_error",
)

_FLOAT = (
    "bid",
    "ask",
    "last",
    "prev_close",
    "strike",
    "underlying_price",
    "open",
    "high",
    "low",
    "close",
    "amount",
)
_INT = ("volume", "open_interest")
_DATES = ("expiration", "bar_date", "ex_date", "earnings_date")
_TIME = ("quote_time", *_DATES)


def conform(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Return ``frame`` with exactly ``columns`` in order and the canonical dtypes.

    Missing columns are added as nulls; unparseable numbers become NaN (the gates catch them).
    """
    out = pd.DataFrame(index=frame.index)
    for col in columns:
        s = frame[col] if col in frame.columns else pd.Series(None, index=frame.index, dtype=object)
        if col in _FLOAT:
            s = pd.to_numeric(s, errors="coerce").astype("float64")
        elif col in _INT:
            s = pd.to_numeric(s, errors="coerce").astype("Int64")
        elif col in _TIME:
            s = pd.to_datetime(s, errors="coerce", utc=True).dt.tz_localize(None)
            if col in _DATES:
                s = s.dt.normalize()
        elif col == "parse_error":
            s = s.astype(object).where(s.notna(), None)
        else:
            s = s.astype(object).where(s.notna(), None)
        out[col] = s
    return out.reset_index(drop=True)


def chunked(items: Sequence[str], size: int) -> list[list[str]]:
    """``items`` in consecutive lists of at most ``size`` (request batches, task batches)."""
    listed = list(items)
    return [listed[i : i + size] for i in range(0, len(listed), size)]


def empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    return conform(pd.DataFrame(), columns)


@dataclass
class ChainFetch:
    """Option chains of a batch of underlyings and the symbols that failed, with why."""

    chains: pd.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    retries: int = 0  # HTTP-level retries the provider made while fetching
    # announced cash dividends of the batch (DIVIDEND_COLUMNS) for IV and greeks; None = no feed
    dividends: pd.DataFrame | None = None


@runtime_checkable
class MarketDataProvider(Protocol):
    """What every market-data source implements (synthetic, Tradier, Alpaca, CBOE, files)."""

    name: str
    exercise_style: str  # "american" for US equity options; "european" for index options

    def snapshot_time(self) -> dt.datetime:
        """The naive-UTC time of the market snapshot this provider serves now."""
        ...

    def quotes(self, symbols: Sequence[str]) -> pd.DataFrame:
        """Latest quotes (QUOTE_COLUMNS); unknown symbols are simply absent."""
        ...

    def price_history(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        """Daily bars (BAR_COLUMNS) between start and end inclusive."""
        ...

    def expirations(self, symbol: str) -> list[dt.date]:
        """Listed expirations of an underlying, ascending."""
        ...

    def option_chain(
        self, symbol: str, expirations: Sequence[dt.date] | None = None
    ) -> pd.DataFrame:
        """The chain of one underlying (CHAIN_COLUMNS), all or selected expirations."""
        ...

    def option_chains(self, symbols: Sequence[str]) -> ChainFetch:
        """Chains of many underlyings; per-symbol failures are reported, not raised."""
        ...


def fetch_chains_per_symbol(provider: MarketDataProvider, symbols: Sequence[str]) -> ChainFetch:
    """Default ``option_chains``: one ``option_chain`` call per symbol, failures collected.

    A ProviderError for one symbol is recorded in ``failures``; a non-retryable one (e.g.
    authentication) is re-raised because every other symbol would fail the same way.
    """
    frames: list[pd.DataFrame] = []
    failures: dict[str, str] = {}
    for symbol in symbols:
        try:
            frames.append(provider.option_chain(symbol))
        except ProviderError as exc:
            if not exc.retryable:
                raise
            failures[symbol] = str(exc)
    chains = (
        conform(pd.concat(frames, ignore_index=True), CHAIN_COLUMNS)
        if frames
        else empty_frame(CHAIN_COLUMNS)
    )
    return ChainFetch(chains=chains, failures=failures)


def upcoming_dividends(provider: object, symbols: Sequence[str]) -> pd.DataFrame:
    """Announced dividends (DIVIDEND_COLUMNS) from a provider that has a dividend feed.

    Dividends are an optional capability (``provider.dividends(symbols)``); a provider without
    one yields an empty frame, and nothing downstream (early-assignment flags) fires for it.
    """
    return _event_feed(provider, "dividends", symbols, DIVIDEND_COLUMNS)


def upcoming_earnings(provider: object, symbols: Sequence[str]) -> pd.DataFrame:
    """Earnings dates (EARNINGS_COLUMNS) from a provider with an earnings calendar.

    Optional like dividends (``provider.earnings(symbols)``); without one the frame is empty and
    no contract is flagged for spanning an earnings date.
    """
    return _event_feed(provider, "earnings", symbols, EARNINGS_COLUMNS)


def optional_feed(
    provider: object, name: str, symbols: Sequence[str]
) -> tuple[pd.DataFrame, str | None]:
    """An optional event feed ("dividends", "earnings") and the provider error, if it failed.

    Optional data never fails a run: a 404 (a sandbox without the endpoint), a 5xx after the
    HTTP retries or an unreadable answer leaves an empty frame and the error text.
    """
    columns = DIVIDEND_COLUMNS if name == "dividends" else EARNINGS_COLUMNS
    try:
        return _event_feed(provider, name, symbols, columns), None
    except ProviderError as exc:
        return empty_frame(columns), str(exc)


def has_capability(provider: object, name: str) -> bool:
    """Whether ``provider`` offers the optional feed ``name`` ("dividends", "earnings")."""
    return callable(getattr(provider, name, None))


def _event_feed(
    provider: object, name: str, symbols: Sequence[str], columns: Sequence[str]
) -> pd.DataFrame:
    feed = getattr(provider, name, None)
    if feed is None or not symbols:
        return empty_frame(columns)
    return conform(feed(list(symbols)), columns)
