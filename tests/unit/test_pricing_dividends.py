"""Cash dividends: schedules per contract, the escrowed spot, both models, the pipeline's feed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from wheelflow.market_time import years_to_expiry
from wheelflow.pipeline.chains import cash_dividends, compute_greeks, fetch_chain_batch
from wheelflow.pricing import CashDividends, greeks, iv_and_greeks, price
from wheelflow.pricing.dividends import escrow
from wheelflow.providers.synthetic import SyntheticMarket


def test_schedules_are_built_per_contract_from_a_feed() -> None:
    divs = CashDividends.by_underlying(
        ["KO", "F", "AAPL", "KO"], ["KO", "KO", "F"], [0.5, 0.2, 0.3], [0.49, 0.51, 0.15]
    )
    np.testing.assert_array_equal(divs.times, [[0.2, 0.5], [0.3, 0.0], [0.0, 0.0], [0.2, 0.5]])
    np.testing.assert_array_equal(divs.amounts, [[0.51, 0.49], [0.15, 0], [0, 0], [0.51, 0.49]])


def test_escrowed_spot_counts_only_dividends_before_expiry() -> None:
    divs = CashDividends.single([0.1, 0.35, 0.6], [1.0, 1.0, 1.0])
    esc = escrow(np.array([100.0, 100.0]), np.array([0.3, 0.5]), np.array([0.05, 0.05]), divs)
    np.testing.assert_allclose(esc.pv, [np.exp(-0.005), np.exp(-0.005) + np.exp(-0.0175)])
    np.testing.assert_allclose(esc.spot, 100.0 - esc.pv)


@pytest.mark.parametrize("exercise", ["european", "american"])
def test_greeks_with_dividends_are_the_derivatives_of_the_prices(exercise: str) -> None:
    divs = CashDividends.single([0.1, 0.35], [0.8, 0.8])
    s, k, t, r, q, v = 100.0, np.array([90.0, 100.0, 110.0]), 0.5, 0.04, 0.01, 0.3
    for call in (True, False):
        g = greeks(s, k, t, r, q, v, call, exercise, dividends=divs)

        def p(call: bool = call, **bump: float) -> np.ndarray:
            a = {"spot": s, "t": t, "r": r, **bump}
            return price(a["spot"], k, a["t"], a["r"], q, v, call, exercise, dividends=divs)

        h = 1e-3
        np.testing.assert_allclose(g["delta"], (p(spot=s + h) - p(spot=s - h)) / (2 * h), atol=2e-4)
        np.testing.assert_allclose(
            g["rho"], (p(r=r + 1e-5) - p(r=r - 1e-5)) / 2e-5 * 0.01, atol=2e-4
        )
        # theta: calendar time passing moves the expiry and every ex-date closer
        later = CashDividends.single(divs.times - 1e-4, divs.amounts)
        earlier = CashDividends.single(divs.times + 1e-4, divs.amounts)
        forward = price(s, k, t - 1e-4, r, q, v, call, exercise, dividends=later)
        back = price(s, k, t + 1e-4, r, q, v, call, exercise, dividends=earlier)
        np.testing.assert_allclose(g["theta"], (forward - back) / 2e-4 / 365.0, atol=2e-4)


def test_european_with_dividends_is_bsm_on_the_escrowed_spot() -> None:
    divs = CashDividends.single([0.25], [2.0])
    star = 100.0 - 2.0 * np.exp(-0.05 * 0.25)
    np.testing.assert_allclose(
        price(100.0, 95.0, 0.5, 0.05, 0.0, 0.25, True, dividends=divs),
        price(star, 95.0, 0.5, 0.05, 0.0, 0.25, True),
        rtol=1e-14,
    )
    quote = price(star, 95.0, 0.5, 0.05, 0.0, 0.25, True)
    result = iv_and_greeks(quote, 100.0, 95.0, 0.5, 0.05, 0.0, True, dividends=divs)
    assert result["iv"] == pytest.approx(0.25, rel=1e-12)


def test_the_pipeline_prices_the_feed_s_dividends() -> None:
    market = SyntheticMarket(as_of=dt.date(2026, 11, 24), universe_size=30)
    payers = market.dividends(market.symbols)
    assert not payers.empty
    symbol = str(payers["symbol"].iloc[0])
    fetch = fetch_chain_batch(market, [symbol])
    assert fetch.dividends is not None and set(fetch.dividends["symbol"]) == {symbol}
    chain = fetch.chains.assign(parse_error=None)
    snapshot = market.snapshot_time()
    schedule = cash_dividends(chain["underlying"], snapshot, fetch.dividends)
    assert schedule is not None and (schedule.amounts.sum(axis=1) > 0).all()
    with_divs = compute_greeks(chain, snapshot, 0.04, "american", fetch.dividends)
    without = compute_greeks(chain, snapshot, 0.04, "american")
    ok = (with_divs["iv_status"] == "ok") & (without["iv_status"] == "ok")
    t = years_to_expiry(snapshot, chain["expiration"])
    spans = (schedule.times < t[:, None]).any(axis=1) & (schedule.amounts > 0).any(axis=1)
    calls = (ok & (chain["right"] == "C")).to_numpy()
    assert (calls & spans).sum() > 5 and (calls & ~spans).sum() > 5
    # the escrowed spot is lower: the same call quote needs a higher volatility...
    higher = with_divs["iv"].to_numpy() > without["iv"].to_numpy()
    assert higher[calls & spans].all()
    # ...and contracts expiring before the ex-date are priced as without it
    same = with_divs["iv"].to_numpy() == without["iv"].to_numpy()
    assert same[calls & ~spans].all()


def test_chains_longer_than_a_chunk_take_their_own_dividend_rows() -> None:
    n = 40_000  # more than one 16,384-contract chunk of the American engine
    spot = np.full(n, 100.0)
    amounts = np.where(np.arange(n) % 2 == 0, 1.0, 0.0)[:, None] * np.ones((1, 2))
    divs = CashDividends.from_rows(np.tile([[0.1, 0.3]], (n, 1)), amounts)
    values = price(spot, 100.0, 0.5, 0.04, 0.0, 0.3, True, "american", dividends=divs)
    assert np.all(values[0::2] == values[0]) and np.all(values[1::2] == values[1])
    assert values[0] < values[1]  # the dividend payers' calls are worth less
