"""Tradier: market data (quotes, expirations, chains with greeks, daily history) and brokerage.

Built from Tradier's public API documentation (https://documentation.tradier.com). Bearer-token
auth; sandbox ``https://sandbox.tradier.com/v1`` (delayed data, paper account) and production
``https://api.tradier.com/v1``. JSON quirks handled here: a single object where a list is
expected (``{"quotes": {"quote": {...}}}``), ``null`` or ``"null"`` for empty results
(``{"options": null}``, ``{"positions": "null"}``), epoch-millisecond quote times.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pandas as pd

from wheelflow.errors import ProviderAuthError
from wheelflow.execution.broker import (
    Balances,
    BrokerPosition,
    OrderRequest,
    OrderState,
    OrderStatus,
)
from wheelflow.providers._broker import HttpBroker, positions_from, read_payload
from wheelflow.providers._market import HttpMarketData
from wheelflow.providers._payload import as_list, normalize_records, utc_now_minute
from wheelflow.providers.base import (
    BAR_COLUMNS,
    CHAIN_COLUMNS,
    DIVIDEND_COLUMNS,
    EARNINGS_COLUMNS,
    QUOTE_COLUMNS,
    chunked,
    conform,
)
from wheelflow.providers.http import (
    ProviderClient,
    client_from_settings,
)
from wheelflow.settings import Settings

PRODUCTION_URL = "https://api.tradier.com/v1"
SANDBOX_URL = "https://sandbox.tradier.com/v1"
TOKEN_SETTING = "WHEELFLOW_TRADIER_TOKEN"

_QUOTE_FIELDS: dict[str, tuple[str, Any]] = {
    "symbol": ("symbol", "str"),
    "bid": ("bid", "float"),
    "ask": ("ask", "float"),
    "last": ("last", "float"),
    "prev_close": ("prevclose", "float"),
    "volume": ("volume", "int"),
    "quote_time": ("trade_date", "epoch_ms"),
}
_CHAIN_FIELDS: dict[str, tuple[str, Any]] = {
    "occ_symbol": ("symbol", "str"),
    "underlying": ("underlying", "str"),
    "expiration": ("expiration_date", "date"),
    "strike": ("strike", "float"),
    "right": ("option_type", "right"),
    "bid": ("bid", "float"),
    "ask": ("ask", "float"),
    "last": ("last", "float"),
    "volume": ("volume", "int"),
    "open_interest": ("open_interest", "int"),
    "underlying_price": ("quote.last", "float"),  # added from the underlying's quote
    "quote_time": ("bid_date", "epoch_ms"),
}
_BAR_FIELDS: dict[str, tuple[str, Any]] = {
    "symbol": ("symbol", "str"),  # added: history days do not name their symbol
    "bar_date": ("date", "date"),
    "open": ("open", "float"),
    "high": ("high", "float"),
    "low": ("low", "float"),
    "close": ("close", "float"),
    "volume": ("volume", "int"),
}
_DIVIDEND_FIELDS: dict[str, tuple[str, Any]] = {
    "symbol": ("request", "str"),  # added: the symbol the result answers
    "ex_date": ("ex_date", "date"),
    "amount": ("cash_amount", "float"),
}
_EARNINGS_FIELDS: dict[str, tuple[str, Any]] = {
    "symbol": ("request", "str"),
    "earnings_date": ("begin_date_time", "date"),
}
# corporate_calendars event types of quarterly and annual results (1st-4th quarter)
EARNINGS_EVENT_TYPES = frozenset({7, 8, 9, 10})
FUNDAMENTALS_CHUNK = 50  # symbols per fundamentals request


# --------------------------------------------------------------------------- parsing (pure)


def parse_quotes(payload: Any) -> pd.DataFrame:
    """``GET /markets/quotes`` -> QUOTE_COLUMNS (one object or a list; unmatched ignored)."""
    quotes = (payload or {}).get("quotes") or {}
    records = as_list(quotes.get("quote") if isinstance(quotes, dict) else None)
    return conform(normalize_records(records, _QUOTE_FIELDS, provider="tradier"), QUOTE_COLUMNS)


def parse_expirations(payload: Any) -> list[dt.date]:
    """``GET /markets/options/expirations`` -> ascending dates (``null`` -> [])."""
    expirations = (payload or {}).get("expirations") or {}
    dates = as_list(expirations.get("date") if isinstance(expirations, dict) else None)
    parsed = pd.to_datetime(pd.Series(dates, dtype=object), errors="coerce", format="ISO8601")
    return sorted({d.date() for d in parsed.dropna()})


def option_records(payload: Any) -> list[dict[str, Any]]:
    """The option objects of a ``GET /markets/options/chains`` answer (``null`` -> [])."""
    options = (payload or {}).get("options") or {}
    return as_list(options.get("option") if isinstance(options, dict) else None)


def parse_chain(payload: Any, underlying_price: float | None) -> pd.DataFrame:
    """``GET /markets/options/chains`` -> CHAIN_COLUMNS (``{"options": null}`` -> empty)."""
    records = [{**r, "quote.last": underlying_price} for r in option_records(payload)]
    return parse_option_records(records)


def parse_option_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Option objects (any symbols and expirations, each with ``quote.last``) -> CHAIN_COLUMNS."""
    return conform(normalize_records(records, _CHAIN_FIELDS, provider="tradier"), CHAIN_COLUMNS)


def history_records(payload: Any, symbol: str) -> list[dict[str, Any]]:
    """The days of a ``GET /markets/history`` answer, each tagged with ``symbol``."""
    history = (payload or {}).get("history") or {}
    days = as_list(history.get("day") if isinstance(history, dict) else None)
    return [{**d, "symbol": symbol} for d in days if isinstance(d, dict)]


def parse_history_records(records: list[dict[str, Any]]) -> pd.DataFrame:
    return conform(normalize_records(records, _BAR_FIELDS, provider="tradier"), BAR_COLUMNS)


def parse_history(payload: Any, symbol: str) -> pd.DataFrame:
    """``GET /markets/history`` (interval=daily) -> BAR_COLUMNS (``{"history": null}`` -> empty)."""
    return parse_history_records(history_records(payload, symbol))


def fundamentals_tables(payload: Any, table: str) -> list[dict[str, Any]]:
    """Rows of ``table`` across a beta fundamentals answer, each tagged with its ``request``.

    The answer is a list with one item per requested symbol; each has ``results`` (company,
    stock...) whose ``tables`` may hold the table as a list, one object or ``null``.
    """
    rows: list[dict[str, Any]] = []
    for item in as_list(payload):
        if not isinstance(item, dict):
            continue
        for result in as_list(item.get("results")):
            tables = result.get("tables") if isinstance(result, dict) else None
            found = tables.get(table) if isinstance(tables, dict) else None
            rows.extend(
                {**r, "request": item.get("request")} for r in as_list(found) if isinstance(r, dict)
            )
    return rows


def parse_dividends(payload: Any) -> pd.DataFrame:
    """``GET /beta/markets/fundamentals/dividends`` -> DIVIDEND_COLUMNS (cash dividends)."""
    rows = fundamentals_tables(payload, "cash_dividends")
    return conform(normalize_records(rows, _DIVIDEND_FIELDS, provider="tradier"), DIVIDEND_COLUMNS)


def parse_earnings(payload: Any) -> pd.DataFrame:
    """``GET /beta/markets/fundamentals/calendars`` -> EARNINGS_COLUMNS.

    Results events only: event types 7-10, or an event text naming earnings or results.
    """
    rows = [
        r
        for r in fundamentals_tables(payload, "corporate_calendars")
        if r.get("event_type") in EARNINGS_EVENT_TYPES
        or any(w in str(r.get("event", "")).lower() for w in ("earnings", "results"))
    ]
    return conform(normalize_records(rows, _EARNINGS_FIELDS, provider="tradier"), EARNINGS_COLUMNS)


def _last_price(payload: Any) -> Any:
    """The raw ``last`` of a one-symbol quotes answer (None when the symbol is unmatched)."""
    quotes = (payload or {}).get("quotes") or {}
    found = as_list(quotes.get("quote") if isinstance(quotes, dict) else None)
    return found[0].get("last") if found and isinstance(found[0], dict) else None


# --------------------------------------------------------------------------- market data


def _client(settings: Settings, transport: httpx.MockTransport | None) -> ProviderClient:
    token = settings.tradier_token.get_secret_value()
    if not token:
        raise ProviderAuthError(
            f"tradier needs an API token: set {TOKEN_SETTING}", provider="tradier"
        )
    base_url = settings.tradier_base_url or (
        SANDBOX_URL if settings.tradier_sandbox else PRODUCTION_URL
    )
    return client_from_settings(
        "tradier",
        base_url,
        settings,
        transport=transport,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        secrets=[token],
        auth_settings=TOKEN_SETTING,
    )


class TradierMarketData(HttpMarketData):
    """Tradier market data behind the common provider interface."""

    name = "tradier"

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        transport: httpx.MockTransport | None = None,
        clock: Callable[[], dt.datetime] = utc_now_minute,
    ) -> TradierMarketData:
        return cls(
            _client(settings, transport),
            max_days_to_expiry=settings.provider_max_days_to_expiry,
            clock=clock,
        )

    def quotes(self, symbols: Sequence[str]) -> pd.DataFrame:
        frames = [
            parse_quotes(self.client.get_json("/markets/quotes", {"symbols": ",".join(chunk)}))
            for chunk in chunked(symbols, 100)
        ]
        return (
            conform(pd.concat(frames, ignore_index=True), QUOTE_COLUMNS)
            if frames
            else (parse_quotes(None))
        )

    def expirations(self, symbol: str) -> list[dt.date]:
        return parse_expirations(
            self.client.get_json(
                "/markets/options/expirations", {"symbol": symbol, "includeAllRoots": "true"}
            )
        )

    def _underlying_prices(self, symbols: Sequence[str]) -> dict[str, Any]:
        prices: dict[str, Any] = {}
        for chunk in chunked(symbols, 100):
            payload = self.client.get_json("/markets/quotes", {"symbols": ",".join(chunk)})
            quotes = (payload or {}).get("quotes") or {}
            for quote in as_list(quotes.get("quote") if isinstance(quotes, dict) else None):
                if isinstance(quote, dict) and quote.get("symbol"):
                    prices[str(quote["symbol"])] = quote.get("last")
        return prices

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
            payload = await self.client.aget_json(client, "/markets/quotes", {"symbols": symbol})
            price = _last_price(payload)
        if expirations is None:
            listed = parse_expirations(
                await self.client.aget_json(
                    client, "/markets/options/expirations", {"symbol": symbol}
                )
            )
            first, last = self.window()
            expirations = [d for d in listed if first <= d <= last]
        records: list[dict[str, Any]] = []
        for expiration in expirations:
            payload = await self.client.aget_json(
                client,
                "/markets/options/chains",
                {"symbol": symbol, "expiration": expiration.isoformat(), "greeks": "true"},
            )
            records.extend({**r, "quote.last": price} for r in option_records(payload))
        return records

    def _parse_chain(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        return parse_option_records(records)

    async def _history_records(
        self, client: httpx.AsyncClient, symbol: str, start: dt.date, end: dt.date
    ) -> list[dict[str, Any]]:
        params = {
            "symbol": symbol,
            "interval": "daily",
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        return history_records(
            await self.client.aget_json(client, "/markets/history", params), symbol
        )

    def _parse_history(self, records: list[dict[str, Any]]) -> pd.DataFrame:
        return parse_history_records(records)

    # -- optional event feeds (Tradier's beta fundamentals API, next to /v1)
    def _fundamentals(self, name: str, symbols: Sequence[str]) -> list[Any]:
        beta = self.client.base_url.removesuffix("/v1") + "/beta/markets/fundamentals/" + name
        return [
            self.client.get_json(beta, {"symbols": ",".join(chunk)})
            for chunk in chunked(symbols, FUNDAMENTALS_CHUNK)
        ]

    def dividends(self, symbols: Sequence[str]) -> pd.DataFrame:
        """Cash dividends (DIVIDEND_COLUMNS), past and announced."""
        frames = [parse_dividends(p) for p in self._fundamentals("dividends", symbols)]
        return conform(pd.concat(frames, ignore_index=True), DIVIDEND_COLUMNS)

    def earnings(self, symbols: Sequence[str]) -> pd.DataFrame:
        """Earnings release dates (EARNINGS_COLUMNS) from the corporate calendars."""
        frames = [parse_earnings(p) for p in self._fundamentals("calendars", symbols)]
        return conform(pd.concat(frames, ignore_index=True), EARNINGS_COLUMNS)


# --------------------------------------------------------------------------- brokerage

_STATUS: dict[str, OrderStatus] = {
    "pending": "submitted",
    "open": "submitted",
    "partially_filled": "partially_filled",
    "filled": "filled",
    "expired": "expired",
    "canceled": "cancelled",
    "rejected": "rejected",
    "error": "rejected",
}


def order_tag(client_order_id: str) -> str:
    """Tradier tags allow letters, digits and dashes only; the tag carries our order id."""
    return re.sub(r"[^A-Za-z0-9-]", "-", client_order_id)


def parse_order(record: dict[str, Any], client_order_id: str) -> OrderState:
    """One Tradier order object -> OrderState (prices per share)."""
    status = _STATUS.get(str(record.get("status", "")).lower(), "submitted")
    filled = int(float(record.get("exec_quantity") or 0))
    avg = record.get("avg_fill_price")
    return OrderState(
        client_order_id=client_order_id,
        broker_order_id=str(record["id"]) if record.get("id") is not None else None,
        status=status,
        filled_quantity=filled,
        average_fill_price=float(avg) if avg not in (None, "", 0, 0.0) and filled else None,
        message=record.get("reason_description"),
    )


def parse_positions(payload: Any, account: str) -> list[BrokerPosition]:
    """``GET /accounts/{id}/positions`` -> positions (``"null"`` -> []); cost_basis is total USD."""
    positions = (payload or {}).get("positions") or {}
    records = as_list(positions.get("position") if isinstance(positions, dict) else None)
    return positions_from(
        records,
        account,
        "tradier",
        lambda r: (str(r["symbol"]), float(r["quantity"]), float(r["cost_basis"]), None),
    )


def parse_balances(payload: Any, account: str) -> Balances:
    """``GET /accounts/{id}/balances`` -> Balances (cash, margin and pdt accounts)."""
    b = (payload or {})["balances"]
    section = b.get("cash") or b.get("margin") or b.get("pdt") or {}
    buying_power = section.get("cash_available", section.get("option_buying_power"))
    return Balances(
        account=account,
        cash=float(b.get("total_cash") or 0.0),
        buying_power=float(
            buying_power if buying_power is not None else b.get("total_cash") or 0.0
        ),
        collateral=float(b.get("option_requirement") or 0.0),
        extra={k: float(b[k]) for k in ("total_equity", "market_value") if b.get(k) is not None},
    )


class TradierBroker(HttpBroker):
    """Tradier brokerage: equity and single-leg option orders, positions, balances.

    The sandbox is a paper account and always allowed; production (``live``) refuses to send or
    cancel orders unless ``WHEELFLOW_LIVE_TRADING=true``. Tradier has no client order id, so the
    id travels as the order ``tag`` and ``submit`` looks it up before sending.
    """

    name = "tradier"

    def __init__(self, settings: Settings, transport: httpx.MockTransport | None = None) -> None:
        if not settings.tradier_account_id:
            raise ProviderAuthError(
                "tradier brokerage needs an account: set WHEELFLOW_TRADIER_ACCOUNT_ID",
                provider="tradier",
            )
        self.client = _client(settings, transport)
        self.account_id = settings.tradier_account_id
        self.live = not settings.tradier_sandbox
        self.live_trading = settings.live_trading

    def _path(self, suffix: str = "") -> str:
        return f"/accounts/{self.account_id}{suffix}"

    def status(self, client_order_id: str) -> OrderState | None:
        payload = self.client.get_json(self._path("/orders"), {"includeTags": "true"})
        orders = (payload or {}).get("orders") or {}
        tag = order_tag(client_order_id)
        for record in as_list(orders.get("order") if isinstance(orders, dict) else None):
            if record.get("tag") == tag:
                return parse_order(record, client_order_id)
        return None

    def _send(self, order: OrderRequest) -> OrderState:
        form = {
            "class": "option" if order.is_option else "equity",
            "symbol": order.symbol,
            "side": order.side,
            "quantity": str(order.quantity),
            "type": order.order_type,
            "duration": order.time_in_force,
            "tag": order_tag(order.client_order_id),
        }
        if order.is_option:
            form["option_symbol"] = order.occ_symbol or ""
        if order.limit_price is not None and order.order_type == "limit":
            form["price"] = f"{order.limit_price:.2f}"
        payload = self.client.request_json(
            "POST", self._path("/orders"), data=form, idempotent=False
        )
        placed = (payload or {}).get("order") or {}
        return OrderState(order.client_order_id, str(placed.get("id")), "submitted")

    def _cancel(self, state: OrderState) -> None:
        self.client.request_json("DELETE", self._path(f"/orders/{state.broker_order_id}"))

    def positions(self, account: str) -> list[BrokerPosition]:
        return parse_positions(self.client.get_json(self._path("/positions")), account)

    def balances(self, account: str) -> Balances:
        payload = self.client.get_json(self._path("/balances"))
        return read_payload("tradier", "balances", lambda: parse_balances(payload, account))
