"""Expected value per contract: the README's worked example, checked by hand and by quadrature."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from wheelflow.pricing import price as bsm_price
from wheelflow.strategy.config import BrokerFees, FeesConfig
from wheelflow.strategy.expected_value import expected_value, lognormal_partial_expectations
from wheelflow.strategy.sizing import sell_fill_prices

PAPER = FeesConfig().schedule  # 0.65 commission + regulatory pass-through
T30 = 30 / 365


def _worked_put(**overrides: object) -> dict[str, np.ndarray]:
    args: dict[str, object] = {
        "spot": np.array([10.0]),
        "strike": np.array([9.0]),
        "years": np.array([T30]),
        "days": np.array([30.0]),
        "is_call": np.array([False]),
        "fill": np.array([0.19]),
        "mid": np.array([0.20]),
        "forecast_vol": np.array([0.40]),
        "fees": PAPER,
        "risk_free_rate": 0.04,
        "drift": 0.04,
    }
    args.update(overrides)
    ev = expected_value(**args)  # type: ignore[arg-type]
    return {k: getattr(ev, k) for k in ev.__dataclass_fields__}


def test_worked_example_of_the_readme_matches_the_hand_computation() -> None:
    # S 10, K 9, 30 days, sigma_f 40 %, r = mu = 4 %: F = 10 e^{0.04 x 30/365} = 10.03293,
    # s = 0.4 sqrt(30/365) = 0.114676, d1 = 1.004771, d2 = 0.890094,
    # P(assign) = N(-d2) = 0.186708, E[(K - S_T)^+] = 9 N(-d2) - F N(-d1) = 0.100146,
    # fees = 0.65 + 0.02295 + 0.02 + 0.00279 + 0.0000278 x 19 = 0.696268,
    # EV = 19 - e^{-0.04 x 30/365} x 10.0146 - 0.696268 = 8.3220.
    out = _worked_put()
    assert out["probability_assignment"][0] == pytest.approx(0.186708, abs=1e-6)
    assert out["expected_assignment_loss"][0] == pytest.approx(10.01456, abs=1e-4)
    assert out["expected_loss_given_assignment"][0] == pytest.approx(53.6377, abs=1e-3)
    assert out["fees"][0] == pytest.approx(0.696268, abs=1e-6)
    assert out["expected_value"][0] == pytest.approx(8.3220, abs=1e-3)
    assert out["gross_expected_value"][0] == pytest.approx(10.0183, abs=1e-3)
    assert out["expected_value_per_day"][0] == pytest.approx(8.3220 / 30, abs=1e-4)
    # net credit c = 0.19 - 0.696268 / 100 = 0.183037; c / (9 - c) x 365 / 30 = 25.26 %
    assert out["net_annualized_return"][0] == pytest.approx(0.252576, abs=1e-5)


def test_partial_expectations_equal_numerical_integration_of_the_lognormal() -> None:
    forward, strike, sd = 52.0, 50.0, 0.18
    dist = stats.lognorm(s=sd, scale=forward * math.exp(-0.5 * sd**2))
    for is_call in (True, False):
        sign = 1.0 if is_call else -1.0
        lo, hi = (strike, np.inf) if is_call else (0.0, strike)
        expected, _ = integrate.quad(
            lambda x, s=sign: max(s * (x - strike), 0.0) * dist.pdf(x), lo, hi
        )
        prob = dist.sf(strike) if is_call else dist.cdf(strike)
        p, e = lognormal_partial_expectations(
            np.array([forward]), np.array([strike]), np.array([sd]), np.array([is_call])
        )
        assert p[0] == pytest.approx(prob, rel=1e-9)
        assert e[0] == pytest.approx(expected, rel=1e-7)


def test_gross_ev_is_zero_at_the_model_price_when_forecast_equals_implied_vol() -> None:
    spot, strike, t, r, iv = 20.0, np.array([18.0, 22.0]), 45 / 365, 0.04, 0.5
    is_call = np.array([False, True])
    model = bsm_price(spot, strike, t, r, 0.0, iv, is_call)
    out = _worked_put(
        spot=np.full(2, spot),
        strike=strike,
        years=np.full(2, t),
        days=np.full(2, 45.0),
        is_call=is_call,
        fill=model,
        mid=model,
        forecast_vol=np.full(2, iv),
    )
    np.testing.assert_allclose(out["gross_expected_value"], 0.0, atol=1e-9)
    # ... so the net EV is exactly minus the fees: costs alone make it negative.
    np.testing.assert_allclose(out["expected_value"], -out["fees"], atol=1e-9)


def test_forecast_below_implied_gives_positive_gross_ev_and_above_gives_negative() -> None:
    iv, t = 0.5, 30 / 365
    model = bsm_price(10.0, 9.0, t, 0.04, 0.0, iv, False)
    low = _worked_put(fill=np.array([model]), mid=np.array([model]), forecast_vol=np.array([0.3]))
    high = _worked_put(fill=np.array([model]), mid=np.array([model]), forecast_vol=np.array([0.7]))
    assert low["gross_expected_value"][0] > 0 > high["gross_expected_value"][0]


def test_assignment_fee_is_charged_in_proportion_to_the_probability_of_assignment() -> None:
    with_fee = BrokerFees(**{**PAPER.model_dump(), "assignment_fee": 15.0})
    base = _worked_put()
    charged = _worked_put(fees=with_fee)
    discount = math.exp(-0.04 * T30)
    assert base["expected_value"][0] - charged["expected_value"][0] == pytest.approx(
        15.0 * 0.186708 * discount, abs=1e-4
    )


def test_a_dividend_before_expiry_lowers_the_forward_and_raises_put_assignment() -> None:
    plain = _worked_put()
    paying = _worked_put(dividend_pv=np.array([0.25]))
    assert paying["probability_assignment"][0] > plain["probability_assignment"][0]
    assert paying["expected_value"][0] < plain["expected_value"][0]


def test_an_earnings_move_adds_variance_and_lowers_the_ev_of_a_short_option() -> None:
    plain = _worked_put()
    earnings = _worked_put(extra_variance=np.array([0.06**2]))
    assert earnings["expected_value"][0] < plain["expected_value"][0]


def test_covered_call_return_uses_the_cost_basis_as_capital() -> None:
    # Call K 12 on stock at 10 bought at 11: c = 0.19 - fees/100; return c / (11 - c) x 365/30.
    out = _worked_put(strike=np.array([12.0]), is_call=np.array([True]), capital=np.array([11.0]))
    c = 0.19 - out["fees"][0] / 100
    assert out["net_annualized_return"][0] == pytest.approx(c / (11.0 - c) * 365 / 30)


def test_a_fee_schedule_can_change_the_order_of_two_candidates() -> None:
    # A: an at-the-money put (assigned about half the time) with the larger EV before fees;
    # B: an out-of-the-money put (assigned 19 % of the time). A broker charging 20 USD per
    # assignment takes ~10 USD of A's EV and ~3.7 of B's, and B moves ahead.
    kwargs = {
        "spot": np.array([10.0, 10.0]),
        "strike": np.array([10.0, 9.0]),
        "years": np.full(2, T30),
        "days": np.full(2, 30.0),
        "is_call": np.array([False, False]),
        "fill": np.array([0.60, 0.19]),
        "mid": np.array([0.61, 0.20]),
        "forecast_vol": np.array([0.45, 0.40]),
        "risk_free_rate": 0.04,
        "drift": 0.04,
    }
    free = BrokerFees(**{**PAPER.model_dump(), "assignment_fee": 0.0})
    costly = BrokerFees(**{**PAPER.model_dump(), "assignment_fee": 20.0})
    ev_free = expected_value(fees=free, **kwargs).expected_value  # type: ignore[arg-type]
    ev_costly = expected_value(fees=costly, **kwargs).expected_value  # type: ignore[arg-type]
    assert ev_free[0] > ev_free[1]
    assert ev_costly[0] < ev_costly[1]


def test_the_fill_is_mid_less_slippage_on_the_tick_or_the_bid() -> None:
    bid, ask = np.array([0.10, 0.60, 3.10, 2.95]), np.array([0.12, 0.64, 3.50, 3.05])
    # mids 0.11, 0.62, 3.30, 3.00 less a quarter of the half-spread, down to the tick:
    # 0.1075 -> 0.10; 0.615 -> 0.61; 3.25 -> 3.25 (nickel above 3); 2.9875 -> 2.98 (penny).
    assert sell_fill_prices(bid, ask, 0.25).tolist() == [0.10, 0.61, 3.25, 2.98]
    assert sell_fill_prices(bid, ask, 0.25, mode="bid_ask").tolist() == bid.tolist()
    # Non-penny classes: 0.05 below 3, 0.10 from 3; never below the bid.
    assert sell_fill_prices(bid, ask, 0.25, penny_class=False).tolist() == [0.10, 0.60, 3.20, 2.95]
