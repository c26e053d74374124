"""CBOE delayed quotes, from payloads in the shape of cdn.cboe.com's delayed-quote JSON."""

from __future__ import annotations

import datetime as dt

import httpx

from tests.provider_fakes import FakeAPI, fixture_json
from wheelflow.providers.base import CHAIN_COLUMNS, MarketDataProvider
from wheelflow.providers.cboe import CboeDelayedQuotes, cboe_symbol, parse_chain, parse_quote
from wheelflow.settings import load_settings

NOW = dt.datetime(2026, 11, 25, 18, 0)
BASE = "/api/global/delayed_quotes"


def api() -> FakeAPI:
    return FakeAPI(
        {
            f"{BASE}/options/AAPL.json": fixture_json("cboe_options_AAPL.json"),
            f"{BASE}/options/_SPX.json": fixture_json("cboe_options_SPX.json"),
            f"{BASE}/quotes/AAPL.json": fixture_json("cboe_quote_AAPL.json"),
            f"{BASE}/charts/historical/AAPL.json": fixture_json("cboe_history_AAPL.json"),
            f"{BASE}/options/NOPE.json": lambda r: httpx.Response(
                403, text="<Error>AccessDenied</Error>"
            ),
        }
    )


def provider(fake: FakeAPI) -> CboeDelayedQuotes:
    settings = load_settings(provider_retry_delay_seconds=0.0, provider_requests_per_second=1000.0)
    return CboeDelayedQuotes.from_settings(settings, fake.transport, clock=lambda: NOW)


def test_chain_contracts_are_keyed_by_occ_symbol() -> None:
    chain = parse_chain(fixture_json("cboe_options_AAPL.json"), "AAPL")
    assert list(chain.columns) == list(CHAIN_COLUMNS)
    put = chain.set_index("occ_symbol").loc["AAPL261219P00200000"]
    assert (put["right"], put["strike"], put["bid"], put["ask"]) == ("P", 200.0, 3.05, 3.15)
    assert (put["open_interest"], put["volume"], put["underlying_price"]) == (10412, 1520, 208.14)


def test_new_york_trade_times_are_stored_as_utc() -> None:
    chain = parse_chain(fixture_json("cboe_options_AAPL.json"), "AAPL")
    assert chain.loc[0, "quote_time"] == dt.datetime(2026, 11, 25, 17, 59)


def test_contract_with_a_broken_occ_symbol_is_kept_and_named() -> None:
    chain = parse_chain(fixture_json("cboe_options_AAPL.json"), "AAPL")
    bad = chain[chain["parse_error"].notna()]
    assert bad["parse_error"].tolist() == ["cboe.option: 'AAPL 26121' is not an OCC symbol"]


def test_index_symbols_use_the_underscore_file_and_weekly_roots_keep_the_index() -> None:
    assert cboe_symbol("SPX") == "_SPX"
    assert cboe_symbol("AAPL") == "AAPL"
    chain = provider(api()).option_chain("SPX")
    assert chain["underlying"].tolist() == ["SPX"]
    assert chain["occ_symbol"].tolist() == ["SPXW261204P05800000"]


def test_chain_fetch_keeps_the_expiry_window_and_unparseable_rows() -> None:
    p = provider(api())
    assert isinstance(p, MarketDataProvider)
    fetch = p.option_chains(["AAPL"])
    assert "AAPL270618P00150000" not in set(fetch.chains["occ_symbol"])  # beyond 60 days
    assert len(fetch.chains) == 3


def test_unknown_symbol_is_a_per_symbol_failure_without_key_hints() -> None:
    fetch = provider(api()).option_chains(["AAPL", "NOPE"])
    assert set(fetch.failures) == {"NOPE"}
    assert "HTTP 403" in fetch.failures["NOPE"]
    assert set(fetch.chains["underlying"]) == {"AAPL"}


def test_quote_and_history_through_the_interface() -> None:
    p = provider(api())
    quote = p.quotes(["AAPL"]).iloc[0]
    assert (quote["last"], quote["prev_close"]) == (208.14, 207.12)
    bars = p.price_history(["AAPL"], dt.date(2026, 11, 21), dt.date(2026, 11, 24))
    assert bars["close"].tolist() == [207.5, 207.12]


def test_quote_parses_the_data_object() -> None:
    quote = parse_quote(fixture_json("cboe_quote_AAPL.json"), "AAPL")
    assert quote.loc[0, "bid"] == 208.12
