"""European implied volatility: accuracy against vollib, statuses, invariants (Hypothesis)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vollib.black_scholes_merton import black_scholes_merton as vollib_price
from vollib.black_scholes_merton.greeks import analytical as vollib_greeks
from vollib.black_scholes_merton.implied_volatility import implied_volatility as vollib_iv

from tests.pricing_reference import random_contracts
from wheelflow.pricing import (
    GREEK_NAMES,
    IVStatus,
    greeks,
    implied_volatility,
    iv_and_greeks,
    price,
    status_names,
)

GRID_SIZE = 3000


@pytest.fixture(scope="module")
def grid() -> dict[str, np.ndarray]:
    """The issue's grid: spot 1..500, K/S 0.5..2, t 1 day..2 y, sigma 0.05..3, q 0..5 %.

    Prices and reference IVs come from vollib's scalar functions (NaN where vollib raises).
    """
    c = random_contracts(GRID_SIZE, seed=20261125)
    spot, strike, t, r, q, sigma = (c[key] for key in ("spot", "strike", "t", "r", "q", "sigma"))
    flag = np.where(c["is_call"], "c", "p")
    rows = list(zip(flag, spot, strike, t, r, sigma, q, strict=True))
    quote = np.array([vollib_price(f, s, k, tt, rr, v, qq) for f, s, k, tt, rr, v, qq in rows])
    reference = np.full(GRID_SIZE, np.nan)
    for i, (f, s, k, tt, rr, _, qq) in enumerate(rows):
        try:
            reference[i] = vollib_iv(quote[i], s, k, tt, rr, qq, f)
        except Exception:  # vollib raises where it has no answer
            continue
    vega = greeks(spot, strike, t, r, q, sigma, flag)["vega"] * 100.0  # per unit of sigma
    return {
        "price": quote,
        "spot": spot,
        "strike": strike,
        "t": t,
        "r": r,
        "q": q,
        "sigma": sigma,
        "flag": flag,
        "reference": reference,
        "vega": vega,
    }


def _solve(grid: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    g = grid
    return iv_and_greeks(g["price"], g["spot"], g["strike"], g["t"], g["r"], g["q"], g["flag"])


def test_grid_quotes_are_all_solved(grid: dict[str, np.ndarray]) -> None:
    result = _solve(grid)
    assert (result["status"] == IVStatus.OK).all()


def test_iv_matches_vollib_within_1e_10_where_vega_is_not_negligible(
    grid: dict[str, np.ndarray],
) -> None:
    # "Not negligible": a 1e-10 move in sigma moves the price by at least 1e-16 of itself.
    # Prices below 1e-300 (subnormal territory for the normalised price) are left out.
    iv = _solve(grid)["iv"]
    g = grid
    conditioned = np.isfinite(g["reference"]) & (g["price"] > 1e-300)
    conditioned &= g["vega"] >= 1e-6 * g["price"]
    assert conditioned.sum() > 0.75 * GRID_SIZE
    error = np.abs(iv - g["reference"])[conditioned]
    assert error.max() <= 1e-10


def test_ill_conditioned_quotes_reprice_at_machine_precision(grid: dict[str, np.ndarray]) -> None:
    g = grid
    iv = _solve(grid)["iv"]
    rest = (g["price"] > 1e-300) & (g["vega"] < 1e-6 * g["price"])
    assert rest.sum() > 100
    repriced = price(g["spot"], g["strike"], g["t"], g["r"], g["q"], iv, g["flag"])
    relative = np.abs(repriced - g["price"])[rest] / g["price"][rest]
    assert relative.max() <= 1e-14


def test_greeks_at_the_iv_match_vollib_analytical_greeks(grid: dict[str, np.ndarray]) -> None:
    g = grid
    result = _solve(grid)
    iv = result["iv"]
    usable = np.flatnonzero(iv > 0.0)  # vollib divides by zero at sigma 0
    for name in GREEK_NAMES:
        formula = getattr(vollib_greeks, name)
        ref = np.array(
            [
                formula(
                    g["flag"][i],
                    g["spot"][i],
                    g["strike"][i],
                    g["t"][i],
                    g["r"][i],
                    iv[i],
                    g["q"][i],
                )
                for i in usable
            ]
        )
        ours = result[name][usable]
        # relative 1e-9; values below 1e-280 are subnormal-adjacent noise in both libraries
        assert np.all(np.abs(ours - ref) <= 1e-9 * np.abs(ref) + 1e-280), name


def test_implied_volatility_agrees_with_iv_and_greeks(grid: dict[str, np.ndarray]) -> None:
    g = grid
    args = (g["price"], g["spot"], g["strike"], g["t"], g["r"], g["q"], g["flag"])
    np.testing.assert_array_equal(implied_volatility(*args), _solve(grid)["iv"])


def test_statuses_name_every_invalid_case_and_return_nan() -> None:
    cases = {  # price, spot, strike, t, r, q, is_call
        "ok": (10.0, 100.0, 100.0, 0.5, 0.03, 0.01, True),
        "below_intrinsic": (15.0, 120.0, 100.0, 0.5, 0.0, 0.0, True),
        "above_upper_bound": (101.0, 100.0, 100.0, 0.5, 0.0, 0.0, True),
        "expired": (5.0, 100.0, 100.0, 0.0, 0.0, 0.0, False),
        "bad_input": (np.nan, 100.0, 100.0, 0.5, 0.0, 0.0, True),
    }
    p, s, k, t, r, q, call = (np.array(column) for column in zip(*cases.values(), strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sigma, status = implied_volatility(p, s, k, t, r, q, call, return_status=True)
    assert list(status_names(status)) == list(cases)
    assert np.isfinite(sigma[0])
    assert np.isnan(sigma[1:]).all()


@pytest.mark.parametrize(
    "bad",
    [
        {"price": -1.0},
        {"spot": 0.0},
        {"spot": np.inf},
        {"strike": -5.0},
        {"t": np.nan},
        {"r": np.inf},
        {"q": np.nan},
    ],
)
def test_bad_inputs_give_nan_and_bad_input(bad: dict[str, float]) -> None:
    args = {"price": 5.0, "spot": 100.0, "strike": 100.0, "t": 0.5, "r": 0.0, "q": 0.0}
    args.update(bad)
    p, s, k, t, r, q = (args[key] for key in ("price", "spot", "strike", "t", "r", "q"))
    sigma, status = implied_volatility(p, s, k, t, r, q, True, return_status=True)
    assert np.isnan(sigma)
    assert status == IVStatus.BAD_INPUT


def test_price_at_intrinsic_value_has_zero_volatility() -> None:
    sigma, status = implied_volatility(20.0, 120.0, 100.0, 0.5, 0.0, 0.0, True, return_status=True)
    assert sigma == 0.0
    assert status == IVStatus.OK


def test_scalars_broadcast_against_arrays_and_keep_shape() -> None:
    strikes = np.array([[90.0, 100.0], [110.0, 120.0]])
    values = price(100.0, strikes, 0.25, 0.02, 0.0, 0.3, True)
    sigma = implied_volatility(values, 100.0, strikes, 0.25, 0.02, 0.0, True)
    assert sigma.shape == (2, 2)
    np.testing.assert_allclose(sigma, 0.3, rtol=1e-12)


def test_flags_may_be_int8_or_strings() -> None:
    values = price(100.0, 100.0, 0.5, 0.0, 0.0, 0.25, np.array([True, False]))
    as_int8 = implied_volatility(values, 100.0, 100.0, 0.5, 0.0, 0.0, np.array([1, -1], np.int8))
    as_str = implied_volatility(values, 100.0, 100.0, 0.5, 0.0, 0.0, np.array(["call", "put"]))
    np.testing.assert_allclose(as_int8, 0.25, rtol=1e-12)
    np.testing.assert_array_equal(as_int8, as_str)


def test_both_iv_apis_return_the_same_int8_status_codes_and_names_map_them() -> None:
    _, status = implied_volatility(1e9, 100.0, 100.0, 0.5, 0.0, 0.0, True, return_status=True)
    assert status.dtype == np.int8 and status == IVStatus.ABOVE_UPPER_BOUND
    result = iv_and_greeks(1e9, 100.0, 100.0, 0.5, 0.0, 0.0, True)
    assert result["status"].dtype == np.int8 and result["status"] == status
    assert status_names(status) == "above_upper_bound"
    codes = np.arange(len(IVStatus), dtype=np.int8)
    assert list(status_names(codes)) == [s.name.lower() for s in IVStatus]


# --- Hypothesis invariants ---------------------------------------------------------------

spots = st.floats(1.0, 500.0)
moneyness = st.floats(0.5, 2.0)
maturities = st.floats(1 / 365, 2.0)
rates = st.floats(0.0, 0.08)
dividends = st.floats(0.0, 0.05)
vols = st.floats(0.05, 3.0)


@settings(max_examples=200, deadline=None)
@given(spots, moneyness, maturities, rates, dividends, vols)
def test_put_call_parity(s: float, m: float, t: float, r: float, q: float, v: float) -> None:
    k = s * m
    call, put = price(s, k, t, r, q, v, np.array([True, False]))
    parity = s * np.exp(-q * t) - k * np.exp(-r * t)
    assert call - put == pytest.approx(parity, abs=1e-12 * (s + k))


@settings(max_examples=200, deadline=None)
@given(spots, moneyness, maturities, rates, dividends, vols, st.booleans())
def test_iv_round_trips_where_the_price_determines_it(
    s: float, m: float, t: float, r: float, q: float, v: float, call: bool
) -> None:
    k = s * m
    quote = price(s, k, t, r, q, v, call)
    vega = greeks(s, k, t, r, q, v, call)["vega"] * 100.0
    sigma, status = implied_volatility(quote, s, k, t, r, q, call, return_status=True)
    assert status == IVStatus.OK
    if quote > 1e-300 and vega >= 1e-6 * quote:
        assert abs(sigma - v) <= 1e-10
    else:
        repriced = price(s, k, t, r, q, sigma, call)
        # Relative precision ends near the bottom of the double range (subnormals below
        # ~2.2e-308 carry few significant bits): an absolute floor of 1e-300 there.
        assert abs(repriced - quote) <= 1e-14 * quote + 1e-300


@settings(max_examples=200, deadline=None)
@given(spots, moneyness, maturities, rates, dividends, vols)
def test_greek_signs(s: float, m: float, t: float, r: float, q: float, v: float) -> None:
    g = greeks(s, s * m, t, r, q, v, np.array([True, False]))
    carry = np.exp(-q * t)
    assert 0.0 <= g["delta"][0] <= carry
    assert -carry <= g["delta"][1] <= 0.0
    assert (g["gamma"] >= 0.0).all()
    assert (g["vega"] >= 0.0).all()
    assert g["rho"][0] >= 0.0 >= g["rho"][1]
    assert g["delta"][0] - g["delta"][1] == pytest.approx(carry, rel=1e-12)


@settings(max_examples=100, deadline=None)
@given(spots, maturities, rates, dividends, vols)
def test_prices_and_call_delta_are_monotone(
    s: float, t: float, r: float, q: float, v: float
) -> None:
    strikes = s * np.linspace(0.5, 2.0, 16)
    calls = price(s, strikes, t, r, q, v, True)
    puts = price(s, strikes, t, r, q, v, False)
    assert (np.diff(calls) <= 1e-12 * s).all()  # calls fall with the strike
    assert (np.diff(puts) >= -1e-12 * s).all()  # puts rise with it
    higher_vol = price(s, strikes, t, r, q, v * 1.1, True)
    assert (higher_vol >= calls - 1e-12 * s).all()
    deltas = greeks(s * np.linspace(0.5, 2.0, 16), s, t, r, q, v, True)["delta"]
    assert (np.diff(deltas) >= -1e-15).all()  # call delta rises with the spot


invalid_numbers = st.sampled_from([np.nan, np.inf, -np.inf, -1.0, 0.0])


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["price", "spot", "strike", "t"]), invalid_numbers)
def test_invalid_inputs_never_raise_or_warn(field: str, value: float) -> None:
    args = {"price": 5.0, "spot": 100.0, "strike": 100.0, "t": 0.5, "r": 0.01, "q": 0.0}
    args[field] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, s, k, t, r, q = (args[key] for key in ("price", "spot", "strike", "t", "r", "q"))
        result = iv_and_greeks(p, s, k, t, r, q, False)
    status = status_names(result["status"])
    if field == "price" and value == 0.0:
        assert status == "ok" and result["iv"] == 0.0  # a worthless ATM option: sigma 0
        return
    expected = "expired" if field == "t" and value in (0.0, -1.0) else "bad_input"
    assert status == expected
    assert all(np.isnan(result[key]) for key in ("iv", *GREEK_NAMES))


def test_quotes_outside_the_guess_table_take_the_fallback_and_still_reprice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wheelflow.pricing.black_scholes_merton import normalised

    calls: list[int] = []
    refine = normalised.refine

    def counting_refine(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0].size)
        return refine(*args, **kwargs)

    monkeypatch.setattr(normalised, "refine", counting_refine)
    sigma_true = np.array([12.0, 5.0, 0.3])  # total volatility 12 and 15.8: beyond the table
    t = np.array([1.0, 10.0, 1.0])
    quote = price(100.0, 100.0, t, 0.03, 0.01, sigma_true, True)
    sigma, status = implied_volatility(quote, 100.0, 100.0, t, 0.03, 0.01, True, return_status=True)
    assert calls and sum(calls) >= 2
    assert (status == IVStatus.OK).all()
    repriced = price(100.0, 100.0, t, 0.03, 0.01, sigma, True)
    np.testing.assert_allclose(repriced, quote, rtol=1e-14)
