"""CBOE delayed quotes: the public, key-less JSON that cboe.com's delayed-quote pages read.

``{base}/options/{SYMBOL}.json`` holds the underlying's quote and its whole chain as
``data.options[]`` with ``option`` (the OCC symbol), ``bid``, ``ask``, ``iv``, greeks,
``open_interest``, ``volume``, ``last_trade_price``, ``last_trade_time``;
``{base}/quotes/{SYMBOL}.json`` the quote alone, ``{base}/charts/historical/{SYMBOL}.json`` daily
bars. Indices are requested with a leading underscore (``_SPX``). Quotes are ~15 minutes delayed
and timestamps are New York local time. No credentials: an unknown symbol answers 403/404, which
is that symbol's failure, not an authentication error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pandas as pd

from wheelflow.errors import ProviderError
from wheelflow.providers._payload import fill_from_occ, normalize_records, utc_now_minute
from wheelflow.providers.base import BAR_COLUMNS, CHAIN_COLUMNS, QUOTE_COLUMNS, conform
from wheelflow.providers.http import HttpMarketData, client_from_settings
from wheelflow.settings import Settings

INDEX_SYMBOLS = frozenset({"SPX", "XSP", "NDX", "RUT", "VIX", "DJX", "OEX", "XEO", "MRUT"})

_QUOTE_FIELDS: dict[str, tuple[str, Any]] = {
    "symbol": ("symbol", "str"),
    "bid": ("bid", "float"),
    "ask": ("ask", "float"),
    "last": ("current_price", "float"),
    "prev_close": ("prev_day_close", "float"),
    "volume": ("volume", "int"),
    "quote_time": ("last_trade_time", "time_ny"),
}
_OPTION_FIELDS: dict[str, tuple[str, Any]] = {
    "occ_symbol": ("option", "str"),
    "bid": ("bid", "float"),
    "ask": ("ask", "float"),
    "last": ("last_trade_price", "float"),
    "volume": ("volume", "int"),
    "open_interest": ("open_interest", "int"),
    "quote_time": ("last_trade_time", "time_ny"),
}
_BAR_FIELDS: dict[str, tuple[str, Any]] = {
    "bar_date": ("date", "date"),
    "open": ("open", "float"),
    "high": ("high", "float"),
    "low": ("low", "float"),
    "close": ("close", "float"),
    "volume": ("volume", "int"),
}


def cboe_symbol(symbol: str) -> str:
    """The CBOE file name of a symbol: indices carry a leading underscore."""
    symbol = symbol.upper().lstrip("_")
    return f"_{symbol}" if symbol in INDEX_SYMBOLS else symbol


def _data(payload: Any) -> dict[str, Any]:
    data = (payload or {}).get("data")
    if not isinstance(data, dict):
        raise ProviderError("cboe: payload has no 'data' object", provider="cboe", retryable=False)
    return data


def parse_quote(payload: Any, symbol: str) -> pd.DataFrame:
    """``quotes/{SYMBOL}.json`` or ``options/{SYMBOL}.json`` -> one QUOTE_COLUMNS row."""
    data = {**_data(payload), "symbol": symbol}
    return conform(normalize_records([data], _QUOTE_FIELDS, provider="cboe"), QUOTE_COLUMNS)


def parse_chain(payload: Any, symbol: str) -> pd.DataFrame:
    """``options/{SYMBOL}.json`` -> CHAIN_COLUMNS; contract terms from the OCC symbol."""
    data = _data(payload)
    frame = normalize_records(list(data.get("options") or []), _OPTION_FIELDS, provider="cboe")
    # Index options are listed under their weekly roots (SPXW); the underlying stays the index.
    frame = fill_from_occ(frame, provider="cboe", raw_name="option")
    frame["underlying"] = symbol
    frame["underlying_price"] = pd.to_numeric(data.get("current_price"), errors="coerce")
    return conform(frame, CHAIN_COLUMNS)


def parse_history(payload: Any, symbol: str) -> pd.DataFrame:
    """``charts/historical/{SYMBOL}.json`` (``{"data": [{date, open, ...}]}``) -> BAR_COLUMNS."""
    records = (payload or {}).get("data") or []
    frame = normalize_records(list(records), _BAR_FIELDS, provider="cboe")
    frame["symbol"] = symbol
    return conform(frame, BAR_COLUMNS)


class CboeDelayedQuotes(HttpMarketData):
    """CBOE delayed quotes behind the common provider interface (no key needed)."""

    name = "cboe"

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        transport: httpx.MockTransport | None = None,
        clock: Callable[[], dt.datetime] = utc_now_minute,
    ) -> CboeDelayedQuotes:
        client = client_from_settings(
            "cboe", settings.cboe_base_url, settings, transport=transport, auth_settings=None
        )
        return cls(client, max_days_to_expiry=settings.provider_max_days_to_expiry, clock=clock)

    def quotes(self, symbols: Sequence[str]) -> pd.DataFrame:
        async def fetch(client: httpx.AsyncClient, symbol: str) -> pd.DataFrame:
            payload = await self.client.aget_json(client, f"/quotes/{cboe_symbol(symbol)}.json")
            return parse_quote(payload, symbol)

        frames = [
            r for r in self.client.gather(fetch, list(symbols)) if isinstance(r, pd.DataFrame)
        ]
        if not frames:
            return conform(pd.DataFrame(), QUOTE_COLUMNS)
        return conform(pd.concat(frames, ignore_index=True), QUOTE_COLUMNS)

    def expirations(self, symbol: str) -> list[dt.date]:
        chain = self.option_chain(symbol)
        return sorted({d.date() for d in chain["expiration"].dropna()})

    async def _chain(
        self, client: httpx.AsyncClient, symbol: str, expirations: Sequence[dt.date] | None
    ) -> pd.DataFrame:
        payload = await self.client.aget_json(client, f"/options/{cboe_symbol(symbol)}.json")
        chain = parse_chain(payload, symbol)
        if expirations is None:
            keep = self._expiry_window(sorted({d.date() for d in chain["expiration"].dropna()}))
        else:
            keep = list(expirations)
        # Unparseable contracts (no expiration) stay so the gate can quarantine them.
        wanted = chain["expiration"].isin(pd.to_datetime(pd.Series(keep, dtype=object)))
        return chain[wanted | chain["expiration"].isna()].reset_index(drop=True)

    async def _history(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        payload = await self.client.aget_json(
            client, f"/charts/historical/{cboe_symbol(symbol)}.json"
        )
        bars = parse_history(payload, symbol)
        days = bars["bar_date"]
        return bars[(days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))]
