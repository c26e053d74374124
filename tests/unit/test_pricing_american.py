"""Bjerksund-Stensland (2002), the American fallback outside the engine's table: against a
binomial tree, bounds, its IV round trip; IV statuses of the public American API."""

from __future__ import annotations

import numpy as np
import pytest

from tests.pricing_reference import binomial_price, random_contracts
from wheelflow.pricing import IVStatus, implied_volatility, iv_and_greeks, price, status_names
from wheelflow.pricing.american.bjerksund_stensland import (
    american_greeks,
    american_price,
    bivariate_normal_cdf,
)
from wheelflow.pricing.american.bjerksund_stensland_iv import (
    american_implied_volatility as bs2002_iv,
)
from wheelflow.pricing.american.bjerksund_stensland_iv import iv_and_greeks as bs2002_iv_and_greeks

# Measured on 300 random contracts against a 2000-step tree: median error 2e-11 of the price
# (mostly contracts without early exercise), 99th percentile 1.1 %, worst 1.2 %, always below
# 0.7 % of the strike. The tests allow 2 % of the price plus the tree's own error.
BS2002_RELATIVE_TOLERANCE = 0.02
TREE_STEPS = 600


def _contracts(n: int, seed: int, max_sigma: float = 1.0) -> dict[str, np.ndarray]:
    return random_contracts(n, seed, max_sigma)


def test_bivariate_normal_cdf_matches_known_values() -> None:
    # independent case and the rho -> 0 limit are products of the marginals
    a, b = np.array([0.3, -1.2, 2.0]), np.array([-0.5, 0.4, 2.0])
    from scipy.special import ndtr
    from scipy.stats import multivariate_normal

    np.testing.assert_allclose(bivariate_normal_cdf(a, b, 0.0), ndtr(a) * ndtr(b), rtol=1e-14)
    for rho in (0.786, -0.786):
        mvn = multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]])
        expected = [mvn.cdf([x, y]) for x, y in zip(a, b, strict=True)]
        np.testing.assert_allclose(bivariate_normal_cdf(a, b, rho), expected, rtol=1e-6)


def test_bjerksund_stensland_is_close_to_a_fine_binomial_tree() -> None:
    c = _contracts(40, seed=11)
    args = (c["spot"], c["strike"], c["t"], c["r"], c["q"], c["sigma"], c["is_call"])
    approx = american_price(*args)
    tree = binomial_price(*args, steps=TREE_STEPS)
    tree_error = 2e-4 * c["strike"]  # CRR at 600 steps, measured against 2000 steps
    assert np.all(np.abs(approx - tree) <= BS2002_RELATIVE_TOLERANCE * tree + tree_error)


def test_american_is_worth_at_least_european_and_exercise_value() -> None:
    c = _contracts(2000, seed=12, max_sigma=3.0)
    args = (c["spot"], c["strike"], c["t"], c["r"], c["q"], c["sigma"], c["is_call"])
    american = american_price(*args)
    european = price(*args)
    exercise_now = np.maximum(np.where(c["is_call"], 1.0, -1.0) * (c["spot"] - c["strike"]), 0.0)
    assert np.all(american >= european)
    assert np.all(american >= exercise_now)


def test_american_call_without_dividends_is_the_european_call() -> None:
    c = _contracts(500, seed=13, max_sigma=3.0)
    args = (c["spot"], c["strike"], c["t"], c["r"], 0.0, c["sigma"], True)
    np.testing.assert_array_equal(american_price(*args), price(*args))
    np.testing.assert_array_equal(price(*args, exercise="american"), price(*args))


def test_american_put_is_worth_more_than_european_when_rates_are_positive() -> None:
    american = american_price(80.0, 100.0, 1.0, 0.05, 0.0, 0.2, False)
    assert american > price(80.0, 100.0, 1.0, 0.05, 0.0, 0.2, False) + 0.1


def test_american_iv_round_trips() -> None:
    c = _contracts(3000, seed=14, max_sigma=3.0)
    base = (c["spot"], c["strike"], c["t"], c["r"], c["q"])
    quote = american_price(*base, c["sigma"], c["is_call"])
    sigma, status = bs2002_iv(quote, *base, c["is_call"])
    bumped = american_price(*base, c["sigma"] * 1.0001, c["is_call"])
    vega = (bumped - quote) / (1e-4 * c["sigma"])
    determined = (quote > 1e-6 * c["strike"]) & (vega >= 1e-2 * quote)
    assert determined.sum() > 1500
    assert np.all(status[determined] == IVStatus.OK)
    assert np.max(np.abs(sigma - c["sigma"])[determined]) <= 1e-9


@pytest.mark.parametrize(
    ("quote", "spot", "tolerance", "expected"),
    [
        (19.0, 80.0, None, "below_intrinsic"),  # an American put is worth at least K - S = 20
        (19.0, 80.0, 0.5, "below_intrinsic"),  # 1.00 below it, more than the half spread
        (19.6, 80.0, 0.5, "undetermined"),  # 0.40 below it, within the half spread
        (20.0, 80.0, None, "undetermined"),  # the exercise value: any low sigma fits
        (100.0, 80.0, None, "above_upper_bound"),  # a put is worth less than its strike
        (np.nan, 80.0, None, "bad_input"),
    ],
)
def test_american_iv_statuses(
    quote: float, spot: float, tolerance: float | None, expected: str
) -> None:
    sigma, status = implied_volatility(
        quote,
        spot,
        100.0,
        0.5,
        0.05,
        0.0,
        False,
        exercise="american",
        tolerance=tolerance,
        return_status=True,
    )
    assert status_names(status) == expected
    assert np.isnan(sigma)


def test_undetermined_quotes_get_neither_iv_nor_greeks_in_both_exercise_styles() -> None:
    # deep ITM put at its exercise value (American) / a hair below the forward intrinsic
    for exercise, quote in (("american", 20.0), ("european", 20.0 * np.exp(-0.05 * 0.5) - 0.01)):
        result = iv_and_greeks(
            quote, 80.0, 100.0, 0.5, 0.05, 0.05, False, exercise=exercise, tolerance=0.05
        )
        assert result["status"] == IVStatus.UNDETERMINED, exercise
        assert all(np.isnan(result[key]) for key in ("iv", "delta", "gamma", "vega")), exercise


def test_american_greeks_have_the_right_signs_and_match_a_spot_bump() -> None:
    c = _contracts(300, seed=15)
    args = (c["spot"], c["strike"], c["t"], c["r"], c["q"], c["sigma"], c["is_call"])
    g = american_greeks(*args)
    calls = c["is_call"]
    assert np.all((g["delta"][calls] >= -1e-9) & (g["delta"][calls] <= 1.0 + 1e-9))
    assert np.all((g["delta"][~calls] <= 1e-9) & (g["delta"][~calls] >= -1.0 - 1e-9))
    assert np.all(g["gamma"] >= -1e-9)
    assert np.all(g["vega"] >= -1e-9)
    bump = 1e-4 * c["spot"]
    shifted = american_price(c["spot"] + bump, *args[1:])
    slope = (shifted - american_price(*args)) / bump
    assert np.allclose(slope, g["delta"], rtol=1e-2, atol=1e-3)


def test_iv_and_greeks_american_prices_back_to_the_quote() -> None:
    c = _contracts(200, seed=16)
    base = (c["spot"], c["strike"], c["t"], c["r"], c["q"])
    quote = american_price(*base, c["sigma"], c["is_call"])
    result = bs2002_iv_and_greeks(quote, *base, c["is_call"])
    solved = result["status"] == IVStatus.OK
    # quotes at the exercise value (exercising now is optimal) determine no volatility
    exercise_now = np.maximum(np.where(c["is_call"], 1.0, -1.0) * (c["spot"] - c["strike"]), 0.0)
    at_exercise = quote <= exercise_now * (1.0 + 4e-16)
    np.testing.assert_array_equal(result["status"] == IVStatus.UNDETERMINED, at_exercise)
    assert (solved | at_exercise).all() and solved.sum() > 100
    repriced = american_price(*base, result["iv"], c["is_call"])
    assert np.allclose(repriced[solved], quote[solved], rtol=1e-9, atol=1e-12 * c["strike"][solved])
    assert np.isfinite(result["delta"][solved & (result["iv"] > 0)]).all()
