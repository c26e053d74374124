"""The built-in synthetic market: deterministic, continuous, and shaped like a listed market."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pandas.testing as pdt

from wheelflow.pipeline import compute_greeks
from wheelflow.providers.base import CHAIN_COLUMNS, MarketDataProvider
from wheelflow.providers.synthetic import SyntheticMarket, listed_expirations, strike_step

DAY = dt.date(2026, 11, 24)


def test_implements_the_provider_interface() -> None:
    assert isinstance(SyntheticMarket(as_of=DAY), MarketDataProvider)


def test_same_seed_and_date_give_identical_quotes_and_chains() -> None:
    a, b = SyntheticMarket(seed=7, as_of=DAY), SyntheticMarket(seed=7, as_of=DAY)
    pdt.assert_frame_equal(a.quotes(a.symbols), b.quotes(b.symbols))
    pdt.assert_frame_equal(a.option_chain("F"), b.option_chain("F"))


def test_another_seed_gives_another_market() -> None:
    a, b = SyntheticMarket(seed=7, as_of=DAY), SyntheticMarket(seed=8, as_of=DAY)
    assert not a.quotes(["F"])["last"].equals(b.quotes(["F"])["last"])


def test_price_paths_continue_from_day_to_day() -> None:
    later = SyntheticMarket(seed=42, as_of=DAY + dt.timedelta(days=7))
    bars = later.price_history(["F", "AAPL"], DAY, DAY)
    quotes = SyntheticMarket(seed=42, as_of=DAY).quotes(["F", "AAPL"])
    assert list(bars.sort_values("symbol")["close"]) == list(quotes.sort_values("symbol")["last"])


def test_a_symbol_path_does_not_depend_on_universe_size() -> None:
    small = SyntheticMarket(seed=42, as_of=DAY, universe_size=30).quotes(["F"])
    large = SyntheticMarket(seed=42, as_of=DAY, universe_size=300).quotes(["F"])
    assert small["last"].iloc[0] == large["last"].iloc[0]


def test_default_universe_has_thirty_symbols_on_both_sides_of_fifty_dollars() -> None:
    market = SyntheticMarket(as_of=DAY)
    last = market.quotes(market.symbols)["last"]
    assert len(market.symbols) == 30
    assert (last > 50).sum() >= 3 and (last < 50).sum() >= 10


def test_expirations_are_weeklies_then_monthlies_moved_off_holidays() -> None:
    exps = listed_expirations(dt.date(2026, 11, 25))
    assert exps[0] == dt.date(2026, 11, 27)  # the first Friday after
    assert dt.date(2026, 12, 24) in exps  # Christmas Friday moves to Thursday
    assert dt.date(2026, 12, 25) not in exps
    assert max(exps) <= dt.date(2026, 11, 25) + dt.timedelta(days=120)
    gaps = np.diff([e.toordinal() for e in exps])
    assert gaps.min() >= 6 and gaps.max() >= 28  # weekly near, monthly far
    april_2025 = listed_expirations(dt.date(2025, 3, 10))  # third Friday 18 April: Good Friday
    assert dt.date(2025, 4, 17) in april_2025 and dt.date(2025, 4, 18) not in april_2025


def test_strikes_sit_on_listed_grids() -> None:
    market = SyntheticMarket(as_of=DAY)
    chain = market.option_chains(market.symbols).chains
    steps = pd.Series(strike_step(chain["underlying_price"].to_numpy()), index=chain.index)
    remainder = np.abs((chain["strike"] / steps) - np.round(chain["strike"] / steps))
    assert (remainder < 1e-9).all()
    assert list(chain.columns) == list(CHAIN_COLUMNS)


def test_quotes_are_on_ticks_with_bid_not_above_ask() -> None:
    chain = SyntheticMarket(as_of=DAY).option_chain("AAPL")
    assert (chain["bid"] <= chain["ask"]).all() and (chain["bid"] >= 0).all()
    cents = np.round(chain["ask"] * 100)
    assert np.allclose(cents, chain["ask"] * 100)


def test_put_skew_and_spreads_widen_away_from_the_money() -> None:
    market = SyntheticMarket(as_of=DAY)
    chain = market.option_chain("INTC")
    greeks = compute_greeks(chain, market.snapshot_time(), 0.04, "european")
    exp = greeks["expiration"].sort_values().unique()[3]
    puts = greeks[
        (greeks["expiration"] == exp) & (greeks["right"] == "P") & (greeks["iv_status"] == "ok")
    ]
    spot = puts["underlying_price"].iloc[0]
    atm = puts.iloc[(puts["strike"] - spot).abs().argmin()]
    otm = puts[puts["strike"] < spot * 0.85]
    assert (otm["iv"] > atm["iv"]).all()  # downside skew
    mid = (greeks["bid"] + greeks["ask"]) / 2
    rel = ((greeks["ask"] - greeks["bid"]) / mid).where(mid > 0.5)
    moneyness = (greeks["strike"] / greeks["underlying_price"] - 1).abs()
    assert rel[moneyness < 0.05].median() < rel[moneyness > 0.2].median()


def test_open_interest_concentrates_near_the_money() -> None:
    chain = SyntheticMarket(as_of=DAY).option_chain("F")
    years = (pd.to_datetime(chain["expiration"]) - pd.Timestamp(DAY)).dt.days / 365.0
    # moneyness in standard deviations of time: how far a strike is for its expiration
    moneyness = np.abs(np.log(chain["strike"] / chain["underlying_price"])) / np.sqrt(years)
    oi = chain["open_interest"].astype(float)
    assert oi[moneyness < 0.15].mean() > 2 * oi[moneyness > 0.6].mean()


def test_iv_recovered_from_mid_prices_is_sane() -> None:
    market = SyntheticMarket(as_of=DAY)
    chain = market.option_chains(market.symbols[:10]).chains
    greeks = compute_greeks(chain, market.snapshot_time(), 0.04, "european")
    ok = greeks[greeks["iv_status"] == "ok"]
    assert len(ok) / len(greeks) > 0.9
    assert ok["iv"].between(0.05, 3.0).all()


def test_unknown_symbols_are_reported_not_raised() -> None:
    fetch = SyntheticMarket(as_of=DAY).option_chains(["F", "NOPE"])
    assert fetch.failures == {"NOPE": "unknown symbol"}
    assert set(fetch.chains["underlying"]) == {"F"}


def _nio_with(market: SyntheticMarket, symbols: list[str]) -> pd.DataFrame:
    chains = market.option_chains(symbols).chains
    return chains[chains["underlying"] == "NIO"].reset_index(drop=True)


def test_a_symbol_chain_is_the_same_whichever_symbols_are_requested_with_it() -> None:
    market = SyntheticMarket(as_of=DAY)
    alone = _nio_with(market, ["NIO"])
    ten_others = [s for s in market.symbols if s != "NIO"][:10]
    with_ten_others = _nio_with(market, [*ten_others, "NIO"])
    reversed_order = _nio_with(SyntheticMarket(as_of=DAY), ["NIO", *market.symbols[::-1]])
    assert len(alone) > 100
    pdt.assert_frame_equal(alone, with_ten_others)
    pdt.assert_frame_equal(alone, reversed_order)


def test_a_symbol_quotes_and_bars_are_the_same_whichever_symbols_are_requested_with_it() -> None:
    market = SyntheticMarket(as_of=DAY)
    others = [*[s for s in market.symbols if s != "NIO"][:10], "NIO"]
    start = DAY - dt.timedelta(days=45)
    quote_alone = market.quotes(["NIO"])
    quotes = market.quotes(others)
    quote_with_others = quotes[quotes["symbol"] == "NIO"].reset_index(drop=True)
    pdt.assert_frame_equal(quote_alone, quote_with_others)
    bars_alone = market.price_history(["NIO"], start, DAY)
    bars_with_others = market.price_history(others, start, DAY)
    bars_with_others = bars_with_others[bars_with_others["symbol"] == "NIO"]
    pdt.assert_frame_equal(bars_alone, bars_with_others.reset_index(drop=True))


def test_a_bar_is_the_same_whatever_range_and_later_date_it_is_read_with() -> None:
    day = DAY - dt.timedelta(days=20)
    short = SyntheticMarket(as_of=DAY).price_history(["NIO"], day, day)
    long = SyntheticMarket(as_of=DAY + dt.timedelta(days=30)).price_history(
        ["NIO"], day - dt.timedelta(days=60), DAY
    )
    pdt.assert_frame_equal(
        short, long[long["bar_date"] == short["bar_date"].iloc[0]].reset_index(drop=True)
    )


def test_generated_symbols_do_not_depend_on_universe_size() -> None:
    small = SyntheticMarket(as_of=DAY, universe_size=40)
    large = SyntheticMarket(as_of=DAY, universe_size=400)
    generated = small.symbols[30:]
    pdt.assert_frame_equal(small.quotes(generated), large.quotes(generated))
    pdt.assert_frame_equal(
        small.option_chains(generated).chains, large.option_chains(generated).chains
    )


def test_the_market_is_the_same_in_another_process() -> None:
    script = (
        "import datetime as dt, pandas as pd;"
        "from wheelflow.providers.synthetic import SyntheticMarket;"
        "m = SyntheticMarket(as_of=dt.date(2026, 11, 24));"
        "print(pd.util.hash_pandas_object(m.option_chains(['NIO', 'F']).chains).sum())"
    )
    # A different hash seed in the child: a draw keyed on Python's hash() would differ.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    child = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    here = pd.util.hash_pandas_object(
        SyntheticMarket(as_of=DAY).option_chains(["NIO", "F"]).chains
    ).sum()
    assert int(child.stdout.strip()) == int(here)
