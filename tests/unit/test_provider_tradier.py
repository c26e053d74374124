"""Tradier market data and brokerage, from payloads in Tradier's documented shape."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from tests.provider_fakes import FakeAPI, fixture_json
from wheelflow.errors import LiveTradingDisabled, ProviderAuthError, ProviderError
from wheelflow.execution.broker import Broker, BrokerTimeout, OrderRequest
from wheelflow.providers.base import CHAIN_COLUMNS, QUOTE_COLUMNS, MarketDataProvider
from wheelflow.providers.tradier import (
    TradierBroker,
    TradierMarketData,
    parse_balances,
    parse_chain,
    parse_expirations,
    parse_history,
    parse_positions,
    parse_quotes,
)
from wheelflow.settings import Settings, load_settings

TOKEN = "tradier-token-SECRET-0001"
NOW = dt.datetime(2026, 11, 25, 15, 0)


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "tradier_token": TOKEN,
        "tradier_account_id": "VA000001",
        "provider_retry_delay_seconds": 0.0,
        "provider_requests_per_second": 1000.0,
    }
    values.update(overrides)
    return load_settings(**values)


def market_api() -> FakeAPI:
    def chains(request: httpx.Request) -> httpx.Response:
        if request.url.params["expiration"] == "2026-12-19":
            return httpx.Response(200, json=fixture_json("tradier_chain.json"))
        return httpx.Response(200, json=fixture_json("tradier_chain_null.json"))

    return FakeAPI(
        {
            "/v1/markets/quotes": fixture_json("tradier_quote_single.json"),
            "/v1/markets/options/expirations": fixture_json("tradier_expirations.json"),
            "/v1/markets/options/chains": chains,
            "/v1/markets/history": fixture_json("tradier_history.json"),
        }
    )


def test_quote_list_parses_into_quote_frame() -> None:
    quotes = parse_quotes(fixture_json("tradier_quotes.json"))
    assert list(quotes.columns) == list(QUOTE_COLUMNS)
    assert quotes["symbol"].tolist() == ["AAPL", "SPY"]
    assert quotes.loc[0, "prev_close"] == pytest.approx(207.12)
    assert quotes.loc[0, "quote_time"] == dt.datetime(2026, 11, 25, 18, 0)


def test_single_quote_object_is_read_as_a_one_row_list() -> None:
    quotes = parse_quotes(fixture_json("tradier_quote_single.json"))
    assert quotes["symbol"].tolist() == ["AAPL"]


def test_single_expiration_string_and_null_expirations() -> None:
    assert parse_expirations(fixture_json("tradier_expirations_single.json")) == [
        dt.date(2026, 12, 19)
    ]
    assert parse_expirations(fixture_json("tradier_expirations_null.json")) == []


def test_chain_parses_contracts_with_rights_strikes_and_expiration() -> None:
    chain = parse_chain(fixture_json("tradier_chain.json"), underlying_price=208.14)
    assert list(chain.columns) == list(CHAIN_COLUMNS)
    first = chain.iloc[0]
    assert first["occ_symbol"] == "AAPL261219P00200000"
    assert (first["right"], first["strike"], first["open_interest"]) == ("P", 200.0, 10412)
    assert first["expiration"] == dt.datetime(2026, 12, 19)
    assert chain["right"].tolist() == ["P", "C", "P"]
    assert (chain["underlying_price"] == 208.14).all()


def test_malformed_bid_keeps_the_row_and_names_the_raw_field() -> None:
    chain = parse_chain(fixture_json("tradier_chain.json"), underlying_price=208.14)
    bad = chain[chain["occ_symbol"] == "AAPL261219P00190000"].iloc[0]
    assert bad["parse_error"] == "tradier.bid: 'N/A' is not a number"
    assert chain["parse_error"].isna().sum() == 2


def test_single_option_object_and_null_options() -> None:
    assert len(parse_chain(fixture_json("tradier_chain_single.json"), 208.0)) == 1
    assert parse_chain(fixture_json("tradier_chain_null.json"), 208.0).empty


def test_history_and_null_history() -> None:
    bars = parse_history(fixture_json("tradier_history.json"), "AAPL")
    assert bars["close"].tolist() == [207.5, 207.12]
    assert bars["bar_date"].iloc[0] == dt.datetime(2026, 11, 21)
    assert parse_history(fixture_json("tradier_history_null.json"), "AAPL").empty


def test_market_data_implements_the_provider_interface_with_bearer_token() -> None:
    api = market_api()
    provider = TradierMarketData.from_settings(settings(), api.transport, clock=lambda: NOW)
    assert isinstance(provider, MarketDataProvider)
    fetch = provider.option_chains(["AAPL"])
    assert fetch.failures == {}
    assert len(fetch.chains) == 3
    assert api.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "sandbox.tradier.com" in str(api.requests[0].url)


def test_chain_fetch_keeps_only_expirations_within_the_configured_window() -> None:
    api = market_api()
    provider = TradierMarketData.from_settings(
        settings(provider_max_days_to_expiry=30), api.transport, clock=lambda: NOW
    )
    provider.option_chains(["AAPL"])
    asked = [r.url.params["expiration"] for r in api.requests if "chains" in r.url.path]
    assert asked == ["2026-12-05", "2026-12-19"]


def test_symbol_without_listed_options_is_reported_as_a_failure() -> None:
    api = market_api()
    api.routes["/v1/markets/options/expirations"] = fixture_json("tradier_expirations_null.json")
    provider = TradierMarketData.from_settings(settings(), api.transport, clock=lambda: NOW)
    fetch = provider.option_chains(["AAPL"])
    assert fetch.chains.empty
    assert "no option chain" in fetch.failures["AAPL"]


def test_price_history_through_the_interface() -> None:
    api = market_api()
    provider = TradierMarketData.from_settings(settings(), api.transport)
    bars = provider.price_history(["AAPL"], dt.date(2026, 11, 20), dt.date(2026, 11, 24))
    assert len(bars) == 2
    assert api.requests[0].url.params["interval"] == "daily"


def test_missing_token_names_the_setting() -> None:
    with pytest.raises(ProviderAuthError, match="WHEELFLOW_TRADIER_TOKEN"):
        TradierMarketData.from_settings(settings(tradier_token=""))


# --------------------------------------------------------------------------- brokerage


def order(**overrides: object) -> OrderRequest:
    values: dict[str, object] = {
        "client_order_id": "csp:AAPL261219P00200000:20261125",
        "account": "paper",
        "symbol": "AAPL",
        "side": "sell_to_open",
        "quantity": 1,
        "limit_price": 3.05,
        "occ_symbol": "AAPL261219P00200000",
    }
    values.update(overrides)
    return OrderRequest(**values)  # type: ignore[arg-type]


def broker_api() -> FakeAPI:
    return FakeAPI(
        {
            ("GET", "/v1/accounts/VA000001/orders"): fixture_json("tradier_orders_null.json"),
            ("POST", "/v1/accounts/VA000001/orders"): fixture_json("tradier_order_placed.json"),
            "/v1/accounts/VA000001/positions": fixture_json("tradier_positions.json"),
            "/v1/accounts/VA000001/balances": fixture_json("tradier_balances.json"),
        }
    )


def test_sandbox_broker_places_a_sell_to_open_option_order() -> None:
    api = broker_api()
    broker = TradierBroker(settings(), api.transport)
    assert isinstance(broker, Broker)
    state = broker.submit(order())
    assert (state.status, state.broker_order_id) == ("submitted", "228175")
    form = dict(httpx.QueryParams(api.requests[-1].content.decode()))
    assert form["class"] == "option"
    assert form["side"] == "sell_to_open"
    assert form["option_symbol"] == "AAPL261219P00200000"
    assert form["price"] == "3.05"
    assert form["tag"] == "csp-AAPL261219P00200000-20261125"


def test_known_tag_returns_existing_order_instead_of_sending_again() -> None:
    api = broker_api()
    api.routes[("GET", "/v1/accounts/VA000001/orders")] = fixture_json("tradier_orders.json")
    state = TradierBroker(settings(), api.transport).submit(order())
    assert state.status == "filled"
    assert state.average_fill_price == pytest.approx(3.07)
    assert all(r.method == "GET" for r in api.requests)


def test_production_broker_refuses_orders_unless_live_trading_enabled() -> None:
    api = broker_api()
    broker = TradierBroker(settings(tradier_sandbox=False), api.transport)
    with pytest.raises(LiveTradingDisabled):
        broker.submit(order())
    assert api.requests == []


def test_order_rejected_by_tradier_is_returned_as_rejected() -> None:
    api = broker_api()
    api.routes[("POST", "/v1/accounts/VA000001/orders")] = lambda r: httpx.Response(
        400, json={"errors": {"error": ["Backoffice rejected override of the order."]}}
    )
    state = TradierBroker(settings(), api.transport).submit(order())
    assert state.status == "rejected"
    assert "Backoffice rejected" in (state.message or "")


def test_positions_parse_stock_and_short_put_with_per_share_prices() -> None:
    positions = parse_positions(fixture_json("tradier_positions.json"), "paper")
    stock, put = positions
    assert (stock.asset_type, stock.quantity, stock.average_price) == ("stock", 100, 205.0)
    assert (put.asset_type, put.symbol, put.quantity) == ("option", "AAPL", -1)
    assert put.average_price == pytest.approx(3.05)


def test_single_position_object_and_null_positions() -> None:
    assert len(parse_positions(fixture_json("tradier_positions_single.json"), "paper")) == 1
    assert parse_positions(fixture_json("tradier_positions_null.json"), "paper") == []


def test_balances_of_a_cash_account() -> None:
    balances = parse_balances(fixture_json("tradier_balances.json"), "paper")
    assert (balances.cash, balances.buying_power, balances.collateral) == (
        79686.0,
        59686.0,
        20000.0,
    )


def test_broker_reads_positions_and_balances_over_http() -> None:
    broker = TradierBroker(settings(), broker_api().transport)
    assert len(broker.positions("paper")) == 2
    assert broker.balances("paper").cash == 79686.0


def test_unreachable_broker_raises_broker_timeout_without_resending() -> None:
    api = broker_api()

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("no answer", request=request)

    api.routes[("POST", "/v1/accounts/VA000001/orders")] = down
    with pytest.raises(BrokerTimeout):
        TradierBroker(settings(), api.transport).submit(order())
    assert [r.method for r in api.requests].count("POST") == 1


def test_rejected_token_stops_the_batch_instead_of_failing_each_symbol() -> None:
    api = FakeAPI(
        {"/v1/markets/quotes": lambda r: httpx.Response(401, text="Invalid Access Token")}
    )
    provider = TradierMarketData.from_settings(settings(), api.transport, clock=lambda: NOW)
    with pytest.raises(ProviderAuthError, match="check WHEELFLOW_TRADIER_TOKEN") as info:
        provider.option_chains(["AAPL", "SPY", "KO"])
    assert TOKEN not in str(info.value)


def test_underlying_prices_of_a_batch_come_from_one_quotes_call() -> None:
    api = market_api()
    api.routes["/v1/markets/quotes"] = fixture_json("tradier_quotes.json")  # AAPL and SPY
    provider = TradierMarketData.from_settings(settings(), api.transport, clock=lambda: NOW)
    fetch = provider.option_chains(["AAPL", "SPY"])
    quote_calls = [r for r in api.requests if r.url.path.endswith("/quotes")]
    assert [r.url.params["symbols"] for r in quote_calls] == ["AAPL,SPY"]
    # The fake answers every chain request with the same contracts; each symbol's copy carries
    # that symbol's own quote.
    assert set(fetch.chains["underlying_price"]) == {208.14, 598.4}


def test_balances_of_the_wrong_shape_are_a_provider_error() -> None:
    api = broker_api()
    api.routes["/v1/accounts/VA000001/balances"] = {"balances": "null"}
    with pytest.raises(ProviderError, match="tradier: unreadable balances"):
        TradierBroker(settings(), api.transport).balances("paper")
