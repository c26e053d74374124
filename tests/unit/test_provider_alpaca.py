"""Alpaca market data and paper brokerage, from payloads in Alpaca's documented shape."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from tests.provider_fakes import FakeAPI, fixture_json
from wheelflow.errors import LiveTradingDisabled, ProviderAuthError, ProviderError
from wheelflow.execution.broker import Broker, OrderRequest
from wheelflow.providers.alpaca import (
    AlpacaBroker,
    AlpacaMarketData,
    parse_account,
    parse_bars,
    parse_positions,
    parse_stock_snapshots,
)
from wheelflow.providers.base import CHAIN_COLUMNS, MarketDataProvider
from wheelflow.settings import Settings, load_settings

KEY_ID = "AKALPACAKEYID0001"
SECRET = "alpaca-secret-VALUE-0001"
NOW = dt.datetime(2026, 11, 25, 15, 0)


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "alpaca_key_id": KEY_ID,
        "alpaca_secret_key": SECRET,
        "provider_retry_delay_seconds": 0.0,
        "provider_requests_per_second": 1000.0,
    }
    values.update(overrides)
    return load_settings(**values)


def option_snapshots(request: httpx.Request) -> httpx.Response:
    page = "page2" if request.url.params.get("page_token") else "page1"
    return httpx.Response(200, json=fixture_json(f"alpaca_option_snapshots_{page}.json"))


def market_api() -> FakeAPI:
    return FakeAPI(
        {
            "/v2/stocks/snapshots": fixture_json("alpaca_stock_snapshots.json"),
            "/v1beta1/options/snapshots/AAPL": option_snapshots,
            "/v2/options/contracts": fixture_json("alpaca_option_contracts.json"),
            "/v2/stocks/bars": fixture_json("alpaca_bars.json"),
        }
    )


def provider(api: FakeAPI) -> AlpacaMarketData:
    return AlpacaMarketData.from_settings(settings(), api.transport, clock=lambda: NOW)


def test_stock_snapshots_keyed_by_symbol_parse_into_quotes() -> None:
    quotes = parse_stock_snapshots(fixture_json("alpaca_stock_snapshots.json"))
    row = quotes.iloc[0]
    assert (row["symbol"], row["bid"], row["ask"], row["last"]) == ("AAPL", 208.12, 208.15, 208.14)
    assert row["prev_close"] == 207.12
    assert row["quote_time"].floor("s") == dt.datetime(2026, 11, 25, 18, 0)


def test_option_snapshots_follow_next_page_token_and_key_by_occ_symbol() -> None:
    api = market_api()
    chain = provider(api).option_chain("AAPL")
    assert list(chain.columns) == list(CHAIN_COLUMNS)
    assert sorted(chain["occ_symbol"]) == [
        "AAPL261219C00215000",
        "AAPL261219P00190000",
        "AAPL261219P00200000",
    ]
    tokens = [
        r.url.params.get("page_token") for r in api.requests if "options/snapshots" in r.url.path
    ]
    assert tokens == [None, "QUFQTDI2MTIxOVAwMDE5MDAwMA=="]


def test_contract_terms_come_from_the_occ_key_and_open_interest_from_contracts() -> None:
    chain = provider(market_api()).option_chain("AAPL").set_index("occ_symbol")
    put = chain.loc["AAPL261219P00200000"]
    assert (put["underlying"], put["right"], put["strike"]) == ("AAPL", "P", 200.0)
    assert put["expiration"] == dt.datetime(2026, 12, 19)
    assert put["open_interest"] == 10412
    assert put["underlying_price"] == 208.14


def test_malformed_option_bid_is_kept_with_the_raw_field_named() -> None:
    chain = provider(market_api()).option_chain("AAPL").set_index("occ_symbol")
    assert chain.loc["AAPL261219P00190000", "parse_error"] == (
        "alpaca.latestQuote.bp: '1.2O' is not a number"
    )
    assert chain.loc["AAPL261219P00200000", "parse_error"] is None


def test_requests_carry_key_headers_and_the_options_feed() -> None:
    api = market_api()
    provider(api).option_chains(["AAPL"])
    assert all(r.headers["APCA-API-KEY-ID"] == KEY_ID for r in api.requests)
    assert all(r.headers["APCA-API-SECRET-KEY"] == SECRET for r in api.requests)
    snap = next(r for r in api.requests if "options/snapshots" in r.url.path)
    assert snap.url.params["feed"] == "indicative"
    assert snap.url.params["expiration_date_lte"] == "2027-01-24"


def test_expirations_come_from_the_contracts_api() -> None:
    p = provider(market_api())
    assert isinstance(p, MarketDataProvider)
    assert p.expirations("AAPL") == [dt.date(2026, 12, 19), dt.date(2027, 1, 15)]


def test_daily_bars_are_dated_by_session() -> None:
    bars = parse_bars([fixture_json("alpaca_bars.json")], "AAPL")
    assert bars["bar_date"].tolist() == [dt.datetime(2026, 11, 21), dt.datetime(2026, 11, 24)]


def test_rejected_keys_fail_fast_naming_both_settings() -> None:
    api = FakeAPI({"/v2/stocks/snapshots": lambda r: httpx.Response(401, json={"message": "x"})})
    with pytest.raises(ProviderAuthError, match="WHEELFLOW_ALPACA_KEY_ID"):
        provider(api).quotes(["AAPL"])
    assert len(api.requests) == 1


def test_missing_keys_name_the_settings() -> None:
    with pytest.raises(ProviderAuthError, match="WHEELFLOW_ALPACA_SECRET_KEY"):
        AlpacaMarketData.from_settings(settings(alpaca_secret_key=""))


# --------------------------------------------------------------------------- brokerage


def order() -> OrderRequest:
    return OrderRequest(
        client_order_id="csp:AAPL261219P00200000:20261125",
        account="paper",
        symbol="AAPL",
        side="sell_to_open",
        quantity=1,
        limit_price=3.05,
        occ_symbol="AAPL261219P00200000",
    )


def broker_api(known: bool = False) -> FakeAPI:
    def by_client_id(request: httpx.Request) -> httpx.Response:
        if known:
            return httpx.Response(200, json=fixture_json("alpaca_order.json"))
        return httpx.Response(404, json={"code": 40410000, "message": "order not found"})

    return FakeAPI(
        {
            "/v2/orders:by_client_order_id": by_client_id,
            ("POST", "/v2/orders"): fixture_json("alpaca_order.json"),
            "/v2/positions": fixture_json("alpaca_positions.json"),
            "/v2/account": fixture_json("alpaca_account.json"),
        }
    )


def test_paper_broker_sends_option_order_with_position_intent() -> None:
    api = broker_api()
    broker = AlpacaBroker(settings(), api.transport)
    assert isinstance(broker, Broker)
    state = broker.submit(order())
    assert state.status == "submitted"
    assert state.broker_order_id == "61e69015-8549-4bfd-b9c3-01e75843f47d"
    sent = json.loads(api.requests[-1].content)
    assert sent["symbol"] == "AAPL261219P00200000"
    assert (sent["side"], sent["position_intent"]) == ("sell", "sell_to_open")
    assert (sent["qty"], sent["limit_price"]) == ("1", "3.05")
    assert sent["client_order_id"] == "csp:AAPL261219P00200000:20261125"
    assert "paper-api.alpaca.markets" in str(api.requests[-1].url)


def test_known_client_order_id_is_not_sent_twice() -> None:
    api = broker_api(known=True)
    AlpacaBroker(settings(), api.transport).submit(order())
    assert [r.method for r in api.requests] == ["GET"]


def test_live_endpoint_refuses_orders_unless_live_trading_enabled() -> None:
    api = broker_api()
    with pytest.raises(LiveTradingDisabled):
        AlpacaBroker(settings(alpaca_paper=False), api.transport).submit(order())
    assert api.requests == []


def test_insufficient_buying_power_403_is_a_rejection_not_an_auth_error() -> None:
    api = broker_api()
    api.routes[("POST", "/v2/orders")] = lambda r: httpx.Response(
        403, json={"code": 40310000, "message": "insufficient options buying power"}
    )
    state = AlpacaBroker(settings(), api.transport).submit(order())
    assert state.status == "rejected"
    assert "insufficient options buying power" in (state.message or "")


def test_positions_parse_stock_and_short_option() -> None:
    stock, put = parse_positions(fixture_json("alpaca_positions.json"), "paper")
    assert (stock.asset_type, stock.quantity, stock.average_price) == ("stock", 100, 205.0)
    assert (put.asset_type, put.symbol, put.quantity, put.average_price) == (
        "option",
        "AAPL",
        -1,
        3.05,
    )


def test_account_cash_buying_power_and_collateral() -> None:
    balances = parse_account(fixture_json("alpaca_account.json"), "paper")
    assert (balances.cash, balances.buying_power, balances.collateral) == (
        79686.0,
        59686.0,
        20000.0,
    )


def test_cancel_deletes_the_working_order_and_returns_its_new_state() -> None:
    api = broker_api(known=True)
    api.routes[("DELETE", "/v2/orders/61e69015-8549-4bfd-b9c3-01e75843f47d")] = lambda r: (
        httpx.Response(204)
    )
    state = AlpacaBroker(settings(), api.transport).cancel("csp:AAPL261219P00200000:20261125")
    assert state.broker_order_id == "61e69015-8549-4bfd-b9c3-01e75843f47d"
    assert [r.method for r in api.requests] == ["GET", "DELETE", "GET"]


def test_unreadable_position_is_a_provider_error_naming_the_record() -> None:
    with pytest.raises(ProviderError, match="alpaca: unreadable position"):
        parse_positions([{"symbol": "AAPL", "qty": "lots", "avg_entry_price": "1"}], "paper")
