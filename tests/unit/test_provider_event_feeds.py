"""Dividend and earnings feeds (optional provider capabilities), from documented payload shapes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from tests.provider_fakes import FakeAPI, fixture_json
from wheelflow.providers.alpaca import AlpacaMarketData, parse_corporate_dividends
from wheelflow.providers.base import (
    DIVIDEND_COLUMNS,
    EARNINGS_COLUMNS,
    has_capability,
    upcoming_dividends,
    upcoming_earnings,
)
from wheelflow.providers.files import FileChains
from wheelflow.providers.synthetic import SyntheticMarket
from wheelflow.providers.tradier import TradierMarketData, parse_dividends, parse_earnings
from wheelflow.settings import load_settings

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers"
NOW = dt.datetime(2026, 12, 1, 15, 0)


def _rows(frame: pd.DataFrame, *cols: str) -> list[tuple[object, ...]]:
    return [tuple(r) for r in frame[list(cols)].itertuples(index=False)]


def test_tradier_dividends_read_every_results_table_and_tag_the_requested_symbol() -> None:
    div = parse_dividends(fixture_json("tradier_dividends.json"))
    assert list(div.columns) == list(DIVIDEND_COLUMNS)
    good = div[div["parse_error"].isna()]
    assert _rows(good, "symbol", "ex_date", "amount") == [
        ("KO", pd.Timestamp("2026-09-15"), 0.51),
        ("KO", pd.Timestamp("2026-12-12"), 0.53),
    ]


def test_tradier_dividend_with_an_unreadable_amount_is_kept_with_the_reason() -> None:
    div = parse_dividends(fixture_json("tradier_dividends.json"))
    bad = div[div["parse_error"].notna()]
    assert bad["symbol"].tolist() == ["T"]
    assert bad["parse_error"].iloc[0] == "tradier.cash_amount: 'n/a' is not a number"


def test_tradier_earnings_keep_results_events_only() -> None:
    earnings = parse_earnings(fixture_json("tradier_calendars.json"))
    assert list(earnings.columns) == list(EARNINGS_COLUMNS)
    assert _rows(earnings, "symbol", "earnings_date") == [
        ("AAL", pd.Timestamp("2026-10-23")),
        ("AAL", pd.Timestamp("2027-01-22")),
        ("SNAP", pd.Timestamp("2026-12-16")),
    ]


def test_tradier_feeds_call_the_beta_fundamentals_endpoints_with_comma_separated_symbols() -> None:
    api = FakeAPI(
        {
            "/beta/markets/fundamentals/dividends": fixture_json("tradier_dividends.json"),
            "/beta/markets/fundamentals/calendars": fixture_json("tradier_calendars.json"),
        }
    )
    settings = load_settings(tradier_token="t0k", tradier_sandbox=False)
    provider = TradierMarketData.from_settings(settings, api.transport, clock=lambda: NOW)
    assert has_capability(provider, "dividends") and has_capability(provider, "earnings")
    assert len(upcoming_dividends(provider, ["KO", "T", "SNAP"])) == 3
    assert len(upcoming_earnings(provider, ["AAL", "SNAP", "F"])) == 3
    assert [str(r.url) for r in api.requests] == [
        "https://api.tradier.com/beta/markets/fundamentals/dividends?symbols=KO%2CT%2CSNAP",
        "https://api.tradier.com/beta/markets/fundamentals/calendars?symbols=AAL%2CSNAP%2CF",
    ]


def test_alpaca_cash_dividends_come_from_the_corporate_actions_endpoint() -> None:
    div = parse_corporate_dividends([fixture_json("alpaca_corporate_actions.json")])
    assert _rows(div, "symbol", "ex_date", "amount") == [
        ("KO", pd.Timestamp("2026-12-12"), 0.53),
        ("VZ", pd.Timestamp("2027-01-09"), 0.69),
    ]
    api = FakeAPI({"/v1/corporate-actions": fixture_json("alpaca_corporate_actions.json")})
    settings = load_settings(alpaca_key_id="k", alpaca_secret_key="s")
    provider = AlpacaMarketData.from_settings(settings, api.transport, clock=lambda: NOW)
    assert len(upcoming_dividends(provider, ["KO", "VZ"])) == 2
    params = api.requests[0].url.params
    assert params["symbols"] == "KO,VZ" and params["types"] == "cash_dividend"
    assert params["start"] == "2026-12-01" and params["end"] == "2027-03-31"
    # Alpaca has no earnings calendar: the capability is absent, the feed empty.
    assert not has_capability(provider, "earnings")
    assert upcoming_earnings(provider, ["KO"]).empty


def test_files_provider_reads_dividend_and_earnings_files_next_to_the_chains(
    tmp_path: Path,
) -> None:
    for name in ("chains_2026-11-24_25.csv", "bars_daily.csv"):
        (tmp_path / name).write_text((FIXTURES / "files_replay" / name).read_text())
    (tmp_path / "dividends.csv").write_text("symbol,ex_date,amount\nAAPL,2026-12-05,0.26\n")
    (tmp_path / "earnings.csv").write_text("symbol,earnings_date\nAAPL,2027-01-29\nAAPL,soon\n")
    provider = FileChains(tmp_path)
    div = upcoming_dividends(provider, ["AAPL", "MSFT"])
    assert _rows(div, "symbol", "ex_date", "amount") == [("AAPL", pd.Timestamp("2026-12-05"), 0.26)]
    earnings = upcoming_earnings(provider, ["AAPL"])
    assert earnings["earnings_date"].iloc[0] == pd.Timestamp("2027-01-29")
    assert earnings["parse_error"].iloc[1] == "files.earnings_date: 'soon' is not a date"


def test_synthetic_earnings_are_quarterly_per_symbol_and_deterministic() -> None:
    market = SyntheticMarket(as_of=dt.date(2026, 12, 1))
    first = upcoming_earnings(market, ["F", "SNAP", "KO"])
    again = upcoming_earnings(SyntheticMarket(as_of=dt.date(2026, 12, 1)), ["SNAP"])
    assert set(first["symbol"]) == {"F", "SNAP", "KO"}
    snap = first[first["symbol"] == "SNAP"]["earnings_date"].tolist()
    assert snap == again["earnings_date"].tolist()
    assert len(snap) == 2 and (snap[1] - snap[0]).days == 91
    # The next report is within a quarter of the day (never before it).
    assert (
        pd.Timestamp("2026-12-01") <= snap[0] < pd.Timestamp("2026-12-01") + pd.Timedelta(91, "D")
    )
