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
import logging
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pandas as pd

from wheelflow.errors import ProviderError
from wheelflow.providers._market import HttpMarketData
from wheelflow.providers._payload import fill_from_occ, normalize_records, utc_now_minute
from wheelflow.providers.base import BAR_COLUMNS, CHAIN_COLUMNS, QUOTE_COLUMNS, conform
from wheelflow.providers.http import client_from_settings
from wheelflow.settings import Settings

logger = logging.getLogger(__name__)

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
    # added from the file: the requested symbol (index options list weekly roots like SPXW)
    "underlying": ("request.symbol", "str"),
    "underlying_price": ("data.current_price", "float"),
}
_BAR_FIELDS: dict[str, tuple[str, Any]] = {
    "symbol": ("request.symbol", "str"),
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


def quote_record(payload: Any, symbol: str) -> dict[str, Any]:
    return {**_data(payload), "symbol": symbol}


def parse_quote_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    return conform(normalize_records(records, _QUOTE_FIELDS, provider="cboe"), QUOTE_COLUMNS)


def parse_quote(payload: Any, symbol: str) -> pd.DataFrame:
    """``quotes/{SYMBOL}.json`` or ``options/{SYMBOL}.json`` -> one QUOTE_COLUMNS row."""
    return parse_quote_records([quote_record(payload, symbol)])


def option_records(payload: Any, symbol: str) -> list[dict[str, Any]]:
    """``data.options[]`` of ``options/{SYMBOL}.json``, tagged with the symbol and its price."""
    data = _data(payload)
    extra = {"request.symbol": symbol, "data.current_price": data.get("current_price")}
    return [{**o, **extra} for o in (data.get("options") or []) if isinstance(o, dict)]


def parse_option_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Option records (any symbols) -> CHAIN_COLUMNS; contract terms from the OCC symbol."""
    frame = normalize_records(records, _OPTION_FIELDS, provider="cboe")
    return conform(fill_from_occ(frame, provider="cboe", raw_name="option"), CHAIN_COLUMNS)


def parse_chain(payload: Any, symbol: str) -> pd.DataFrame:
    """``options/{SYMBOL}.json`` -> CHAIN_COLUMNS."""
    return parse_option_records(option_records(payload, symbol))


def history_records(payload: Any, symbol: str) -> list[dict[str, Any]]:
    days = (payload or {}).get("data") or []
    return [{**d, "request.symbol": symbol} for d in days if isinstance(d, dict)]


def parse_history_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    return conform(normalize_records(records, _BAR_FIELDS, provider="cboe"), BAR_COLUMNS)


def parse_history(payload: Any, symbol: str) -> pd.DataFrame:
    """``charts/historical/{SYMBOL}.json`` (``{"data": [{date, open, ...}]}``) -> BAR_COLUMNS."""
    return parse_history_records(history_records(payload, symbol))


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
        """Quotes of the symbols CBOE knows; unknown symbols are absent (and logged)."""

        async def fetch(client: httpx.AsyncClient, symbol: str) -> dict[str, Any]:
            payload = await self.client.aget_json(client, f"/quotes/{cboe_symbol(symbol)}.json")
            return quote_record(payload, symbol)

        records = []
        for symbol, result in zip(symbols, self.client.gather(fetch, list(symbols)), strict=True):
            if isinstance(result, ProviderError):
                logger.warning("cboe: no quote for %s: %s", symbol, result)
            else:
                records.append(result)
        return parse_quote_records(records)

    def expirations(self, symbol: str) -> list[dt.date]:
        async def fetch(client: httpx.AsyncClient, item: str) -> list[dict[str, Any]]:
            return await self._chain_records(client, item, None, {})

        result = self.client.gather(fetch, [symbol])[0]
        if isinstance(result, ProviderError):
            raise result
        chain = parse_option_records(result)
        return sorted({d.date() for d in chain["expiration"].dropna()})

    async def _chain_records(
        self,
        client: httpx.AsyncClient,
        symbol: str,
        expirations: Sequence[dt.date] | None,
        prices: dict[str, Any],
    ) -> list[dict[str, Any]]:
        # One file holds the quote and every expiration; the window is applied after parsing.
        payload = await self.client.aget_json(client, f"/options/{cboe_symbol(symbol)}.json")
        return option_records(payload, symbol)

    def _parse_chain(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        return parse_option_records(records)

    async def _history_records(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> list[dict[str, Any]]:
        payload = await self.client.aget_json(
            client, f"/charts/historical/{cboe_symbol(symbol)}.json"
        )
        return history_records(payload, symbol)

    def _parse_history(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        return parse_history_records(records)
