"""Alpaca: stock snapshots and bars, option chain snapshots, and (paper) option orders.

Built from Alpaca's public API documentation (https://docs.alpaca.markets). Every request
carries the ``APCA-API-KEY-ID`` and ``APCA-API-SECRET-KEY`` headers. Market data lives at
``https://data.alpaca.markets`` (``/v2/stocks/snapshots``, ``/v2/stocks/bars``,
``/v1beta1/options/snapshots/{underlying}`` keyed by OCC symbol); contracts (expirations, open
interest) and orders at the trading API, paper ``https://paper-api.alpaca.markets`` or live
``https://api.alpaca.markets``. Lists are paginated with ``next_page_token``/``page_token``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pandas as pd

from wheelflow.errors import ProviderAuthError, ProviderError
from wheelflow.execution.broker import (
    Balances,
    BrokerPosition,
    OrderRequest,
    OrderState,
    OrderStatus,
)
from wheelflow.providers._broker import HttpBroker, positions_from, read_payload
from wheelflow.providers._market import HttpMarketData
from wheelflow.providers._payload import as_list, fill_from_occ, normalize_records, utc_now_minute
from wheelflow.providers.base import (
    BAR_COLUMNS,
    CHAIN_COLUMNS,
    DIVIDEND_COLUMNS,
    QUOTE_COLUMNS,
    chunked,
    conform,
)
from wheelflow.providers.http import (
    ProviderClient,
    ProviderHTTPError,
    client_from_settings,
)
from wheelflow.settings import Settings

PAPER_URL = "https://paper-api.alpaca.markets"
LIVE_URL = "https://api.alpaca.markets"
KEY_SETTINGS = "WHEELFLOW_ALPACA_KEY_ID and WHEELFLOW_ALPACA_SECRET_KEY"
MAX_PAGES = 100

_QUOTE_FIELDS: dict[str, tuple[str, Any]] = {
    "symbol": ("symbol", "str"),
    "bid": ("latestQuote.bp", "float"),
    "ask": ("latestQuote.ap", "float"),
    "last": ("latestTrade.p", "float"),
    "prev_close": ("prevDailyBar.c", "float"),
    "volume": ("dailyBar.v", "int"),
    "quote_time": ("latestQuote.t", "time_utc"),
}
_SNAPSHOT_FIELDS: dict[str, tuple[str, Any]] = {
    "occ_symbol": ("symbol", "str"),
    "bid": ("latestQuote.bp", "float"),
    "ask": ("latestQuote.ap", "float"),
    "last": ("latestTrade.p", "float"),
    "volume": ("dailyBar.v", "int"),
    "quote_time": ("latestQuote.t", "time_utc"),
    # added from the stock snapshot and the contracts API
    "underlying_price": ("stock.latestTrade.p", "float"),
    "open_interest": ("contract.open_interest", "int"),
}
_BAR_FIELDS: dict[str, tuple[str, Any]] = {
    "symbol": ("symbol", "str"),  # added: bars are keyed by symbol
    "bar_date": ("t", "time_utc"),
    "open": ("o", "float"),
    "high": ("h", "float"),
    "low": ("l", "float"),
    "close": ("c", "float"),
    "volume": ("v", "int"),
}


# --------------------------------------------------------------------------- parsing (pure)


def _keyed(mapping: Any) -> list[dict[str, Any]]:
    """``{"KEY": {...}}`` -> ``[{"symbol": "KEY", ...}]`` (non-object values become empty)."""
    if not isinstance(mapping, dict):
        return []
    return [{**(v if isinstance(v, dict) else {}), "symbol": k} for k, v in mapping.items()]


def _last_trade(snapshots: Any, symbol: str) -> Any:
    """The raw last trade price of ``symbol`` in a stock snapshots answer (None if absent)."""
    snapshot = (snapshots or {}).get(symbol) if isinstance(snapshots, dict) else None
    return ((snapshot or {}).get("latestTrade") or {}).get("p")


def parse_stock_snapshots(payload: Any) -> pd.DataFrame:
    """``GET /v2/stocks/snapshots`` (keyed by symbol) -> QUOTE_COLUMNS."""
    frame = normalize_records(_keyed(payload), _QUOTE_FIELDS, provider="alpaca")
    return conform(frame, QUOTE_COLUMNS)


def snapshot_records(
    pages: Sequence[Any], underlying_price: Any, open_interest: dict[str, Any]
) -> list[dict[str, Any]]:
    """Option snapshots of all pages as records keyed by their OCC ``symbol``, each tagged with
    the underlying's last trade and the contract's open interest (from the contracts API)."""
    return [
        {
            **r,
            "stock.latestTrade.p": underlying_price,
            "contract.open_interest": open_interest.get(r["symbol"]),
        }
        for page in pages
        for r in _keyed((page or {}).get("snapshots"))
    ]


def parse_snapshot_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Option snapshot records (any underlyings) -> CHAIN_COLUMNS; terms from the OCC key."""
    frame = normalize_records(records, _SNAPSHOT_FIELDS, provider="alpaca")
    frame = fill_from_occ(frame, provider="alpaca", raw_name="snapshots key")
    return conform(frame, CHAIN_COLUMNS)


def contract_open_interest(pages: Sequence[Any]) -> dict[str, Any]:
    """Raw ``open_interest`` by OCC symbol from pages of ``GET /v2/options/contracts``."""
    return {
        str(c.get("symbol")): c.get("open_interest")
        for page in pages
        for c in ((page or {}).get("option_contracts") or [])
        if isinstance(c, dict)
    }


def parse_contracts(pages: Sequence[Any]) -> pd.DataFrame:
    """Pages of ``GET /v2/options/contracts`` -> occ_symbol, expiration, open_interest."""
    records = [c for page in pages for c in ((page or {}).get("option_contracts") or [])]
    fields: dict[str, tuple[str, Any]] = {
        "occ_symbol": ("symbol", "str"),
        "expiration": ("expiration_date", "date"),
        "open_interest": ("open_interest", "int"),
    }
    return normalize_records(records, fields, provider="alpaca")


_DIVIDEND_FIELDS: dict[str, tuple[str, Any]] = {
    "symbol": ("symbol", "str"),
    "ex_date": ("ex_date", "date"),
    "amount": ("rate", "float"),
}
DIVIDEND_HORIZON_DAYS = 120  # announced dividends this far ahead


def parse_corporate_dividends(pages: Sequence[Any]) -> pd.DataFrame:
    """Pages of ``GET /v1/corporate-actions?types=cash_dividend`` -> DIVIDEND_COLUMNS."""
    records = [
        r
        for page in pages
        for r in as_list(((page or {}).get("corporate_actions") or {}).get("cash_dividends"))
        if isinstance(r, dict)
    ]
    return conform(
        normalize_records(records, _DIVIDEND_FIELDS, provider="alpaca"), DIVIDEND_COLUMNS
    )


def bar_records(pages: Sequence[Any], symbol: str) -> list[dict[str, Any]]:
    """The bars of ``symbol`` from pages of ``GET /v2/stocks/bars``, tagged with the symbol."""
    return [
        {**b, "symbol": symbol}
        for page in pages
        for b in (((page or {}).get("bars") or {}).get(symbol) or [])
        if isinstance(b, dict)
    ]


def parse_bar_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    # Daily bars are stamped at midnight New York (04:00/05:00 UTC): the date is the session.
    return conform(normalize_records(records, _BAR_FIELDS, provider="alpaca"), BAR_COLUMNS)


def parse_bars(pages: Sequence[Any], symbol: str) -> pd.DataFrame:
    """Pages of ``GET /v2/stocks/bars`` (``{"bars": {"SYM": [...]}}``) -> BAR_COLUMNS."""
    return parse_bar_records(bar_records(pages, symbol))


# --------------------------------------------------------------------------- market data


def _credentials(settings: Settings) -> tuple[str, str]:
    key_id = settings.alpaca_key_id.get_secret_value()
    secret = settings.alpaca_secret_key.get_secret_value()
    if not key_id or not secret:
        raise ProviderAuthError(f"alpaca needs API keys: set {KEY_SETTINGS}", provider="alpaca")
    return key_id, secret


def _client(
    settings: Settings, base_url: str, transport: httpx.MockTransport | None, **options: Any
) -> ProviderClient:
    key_id, secret = _credentials(settings)
    return client_from_settings(
        "alpaca",
        base_url,
        settings,
        transport=transport,
        headers={"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret},
        secrets=[key_id, secret],
        auth_settings=KEY_SETTINGS,
        **options,
    )


def trading_url(settings: Settings) -> str:
    return (
        settings.alpaca_trading_url or (PAPER_URL if settings.alpaca_paper else LIVE_URL)
    ).rstrip("/")


class AlpacaMarketData(HttpMarketData):
    """Alpaca market data behind the common provider interface."""

    name = "alpaca"

    def __init__(
        self,
        client: ProviderClient,
        *,
        trading_base_url: str,
        options_feed: str = "indicative",
        max_days_to_expiry: int = 60,
        clock: Callable[[], dt.datetime] = utc_now_minute,
    ) -> None:
        super().__init__(client, max_days_to_expiry=max_days_to_expiry, clock=clock)
        self.trading_base_url = trading_base_url
        self.options_feed = options_feed

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        transport: httpx.MockTransport | None = None,
        clock: Callable[[], dt.datetime] = utc_now_minute,
    ) -> AlpacaMarketData:
        return cls(
            _client(settings, settings.alpaca_data_url, transport),
            trading_base_url=trading_url(settings),
            options_feed=settings.alpaca_options_feed,
            max_days_to_expiry=settings.provider_max_days_to_expiry,
            clock=clock,
        )

    def quotes(self, symbols: Sequence[str]) -> pd.DataFrame:
        merged: dict[str, Any] = {}
        for page in self._stock_snapshots(symbols):
            merged.update(page)
        return parse_stock_snapshots(merged)

    async def _pages(
        self, client: httpx.AsyncClient, path: str, params: dict[str, Any]
    ) -> list[Any]:
        """Every page of a paginated list, following ``next_page_token``."""
        pages: list[Any] = []
        token: str | None = None
        for _ in range(MAX_PAGES):
            page = await self.client.aget_json(
                client, path, {**params, **({"page_token": token} if token else {})}
            )
            pages.append(page)
            token = (page or {}).get("next_page_token")
            if not token:
                return pages
        raise ProviderError(
            f"alpaca: {path} still paginating after {MAX_PAGES} pages", provider="alpaca"
        )

    async def _contracts(
        self, client: httpx.AsyncClient, symbol: str, until: dt.date | None
    ) -> pd.DataFrame:
        params: dict[str, Any] = {"underlying_symbols": symbol, "limit": 10000}
        if until is not None:
            params["expiration_date_lte"] = until.isoformat()
        return parse_contracts(
            await self._pages(client, f"{self.trading_base_url}/v2/options/contracts", params)
        )

    def expirations(self, symbol: str) -> list[dt.date]:
        async def fetch(client: httpx.AsyncClient, item: str) -> pd.DataFrame:
            return await self._contracts(client, item, None)

        result = self.client.gather(fetch, [symbol])[0]
        if isinstance(result, ProviderError):
            raise result
        return sorted({d.date() for d in result["expiration"].dropna()})

    def _underlying_prices(self, symbols: Sequence[str]) -> dict[str, Any]:
        return {
            symbol: _last_trade(snapshots, symbol)
            for snapshots in self._stock_snapshots(symbols)
            for symbol in snapshots
        }

    def _stock_snapshots(self, symbols: Sequence[str]) -> list[dict[str, Any]]:
        """``/v2/stocks/snapshots`` answers, 100 symbols a request (keeps URLs short)."""
        pages = []
        for chunk in chunked(symbols, 100):
            page = self.client.get_json("/v2/stocks/snapshots", {"symbols": ",".join(chunk)})
            pages.append(page if isinstance(page, dict) else {})
        return pages

    async def _chain_records(
        self,
        client: httpx.AsyncClient,
        symbol: str,
        expirations: Sequence[dt.date] | None,
        prices: dict[str, Any],
    ) -> list[dict[str, Any]]:
        if symbol in prices:
            price = prices[symbol]
        else:
            stock = await self.client.aget_json(client, "/v2/stocks/snapshots", {"symbols": symbol})
            price = _last_trade(stock, symbol)
        first, last = (min(expirations), max(expirations)) if expirations else self.window()
        params: dict[str, Any] = {
            "feed": self.options_feed,
            "limit": 1000,
            "expiration_date_gte": first.isoformat(),
            "expiration_date_lte": last.isoformat(),
        }
        pages = await self._pages(client, f"/v1beta1/options/snapshots/{symbol}", params)
        contracts = await self._pages(
            client,
            f"{self.trading_base_url}/v2/options/contracts",
            {
                "underlying_symbols": symbol,
                "expiration_date_gte": first.isoformat(),
                "expiration_date_lte": last.isoformat(),
                "limit": 10000,
            },
        )
        return snapshot_records(pages, price, contract_open_interest(contracts))

    def _parse_chain(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        return parse_snapshot_records(records)

    async def _history_records(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> list[dict[str, Any]]:
        params = {
            "symbols": symbol,
            "timeframe": "1Day",
            "start": start.isoformat(),
            "end": end.isoformat(),
            "adjustment": "raw",
            "limit": 10000,
        }
        return bar_records(await self._pages(client, "/v2/stocks/bars", params), symbol)

    def _parse_history(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        return parse_bar_records(records)

    def dividends(self, symbols: Sequence[str]) -> pd.DataFrame:
        """Cash dividends going ex in the next 120 days (corporate actions, market data API).

        Alpaca has no earnings calendar: this provider offers no ``earnings`` feed.
        """
        start = self.clock().date()
        params = {
            "types": "cash_dividend",
            "start": start.isoformat(),
            "end": (start + dt.timedelta(days=DIVIDEND_HORIZON_DAYS)).isoformat(),
            "limit": 1000,
        }

        async def fetch(client: httpx.AsyncClient, chunk: list[str]) -> list[Any]:
            return await self._pages(
                client, "/v1/corporate-actions", {"symbols": ",".join(chunk), **params}
            )

        pages: list[Any] = []
        for result in self.client.gather(fetch, chunked(symbols, 100)):
            if isinstance(result, ProviderError):
                raise result
            pages.extend(result)
        return parse_corporate_dividends(pages)


# --------------------------------------------------------------------------- brokerage

_STATUS: dict[str, OrderStatus] = {
    "partially_filled": "partially_filled",
    "filled": "filled",
    "canceled": "cancelled",
    "expired": "expired",
    "rejected": "rejected",
}
_SIDE = {
    "sell_to_open": "sell",
    "sell_to_close": "sell",
    "buy_to_close": "buy",
    "buy_to_open": "buy",
    "buy": "buy",
    "sell": "sell",
}


def parse_order(record: dict[str, Any]) -> OrderState:
    """An Alpaca order object -> OrderState (quantities and prices arrive as strings)."""
    filled = int(float(record.get("filled_qty") or 0))
    avg = record.get("filled_avg_price")
    return OrderState(
        client_order_id=str(record["client_order_id"]),
        broker_order_id=str(record["id"]),
        status=_STATUS.get(str(record.get("status")), "submitted"),
        filled_quantity=filled,
        average_fill_price=float(avg) if avg not in (None, "") else None,
    )


def parse_positions(payload: Any, account: str) -> list[BrokerPosition]:
    """``GET /v2/positions`` -> positions (``qty`` signed; ``avg_entry_price`` per share)."""
    records = payload if isinstance(payload, list) else []
    return positions_from(
        records,
        account,
        "alpaca",
        lambda r: (str(r["symbol"]), float(r["qty"]), None, float(r["avg_entry_price"])),
    )


def parse_account(payload: Any, account: str) -> Balances:
    """``GET /v2/account`` -> Balances; collateral is cash not available to options."""
    cash = float(payload["cash"])
    buying_power = float(payload.get("options_buying_power") or payload.get("buying_power") or 0)
    return Balances(
        account=account,
        cash=cash,
        buying_power=buying_power,
        collateral=max(cash - buying_power, 0.0),
        extra={k: float(payload[k]) for k in ("equity", "portfolio_value") if payload.get(k)},
    )


class AlpacaBroker(HttpBroker):
    """Alpaca orders, positions and account. Paper trading is always allowed; the live
    endpoint refuses to send or cancel unless ``WHEELFLOW_LIVE_TRADING=true``. Alpaca keeps our
    ``client_order_id``, so ``submit`` looks it up first and never sends an order twice."""

    name = "alpaca"

    def __init__(self, settings: Settings, transport: httpx.MockTransport | None = None) -> None:
        # 403 on the order API means "not enough buying power", not bad keys.
        self.client = _client(
            settings, trading_url(settings), transport, auth_statuses=frozenset({401})
        )
        self.live = not settings.alpaca_paper
        self.live_trading = settings.live_trading

    def status(self, client_order_id: str) -> OrderState | None:
        try:
            payload = self.client.get_json(
                "/v2/orders:by_client_order_id", {"client_order_id": client_order_id}
            )
        except ProviderHTTPError as exc:
            if exc.status_code == 404:
                return None
            raise
        return read_payload("alpaca", "order", lambda: parse_order(payload))

    def _send(self, order: OrderRequest) -> OrderState:
        body: dict[str, Any] = {
            "symbol": order.occ_symbol if order.is_option else order.symbol,
            "qty": str(order.quantity),
            "side": _SIDE[order.side],
            "type": order.order_type,
            "time_in_force": order.time_in_force,
            "client_order_id": order.client_order_id,
        }
        if order.is_option:
            body["position_intent"] = order.side
        if order.order_type == "limit" and order.limit_price is not None:
            body["limit_price"] = f"{order.limit_price:.2f}"
        placed = self.client.request_json("POST", "/v2/orders", json=body, idempotent=False)
        return read_payload("alpaca", "order", lambda: parse_order(placed))

    def _cancel(self, state: OrderState) -> None:
        self.client.request_json("DELETE", f"/v2/orders/{state.broker_order_id}")

    def positions(self, account: str) -> list[BrokerPosition]:
        return parse_positions(self.client.get_json("/v2/positions"), account)

    def balances(self, account: str) -> Balances:
        payload = self.client.get_json("/v2/account")
        return read_payload("alpaca", "account", lambda: parse_account(payload, account))
