"""Expected value of selling one option contract, after fills and fees, under a forecast.

The real-world model: at expiry (T years away) the underlying is lognormal,

    S_T = F exp(-s^2/2 + s Z),   F = (S - PV(dividends before expiry)) e^{mu T},
    s^2 = sigma_f^2 T (+ earnings_move^2 when the contract spans an earnings date),

with sigma_f the volatility *forecast* from the underlying's own history (not the implied
volatility) and mu the drift (``risk_free``: mu = r, no equity premium assumed; ``zero``).
With d1 = (ln(F/K) + s^2/2) / s and d2 = d1 - s the lognormal partial expectations are
(Hull, Options, Futures and Other Derivatives, ch. 15 appendix):

    P(S_T < K) = N(-d2)            E[(K - S_T)^+] = K N(-d2) - F N(-d1)
    P(S_T > K) = N(d2)             E[(S_T - K)^+] = F N(d1) - K N(d2)

Per contract (100 shares), with D = e^{-rT} discounting what happens at expiry:

    probability of assignment  p = N(-d2) (put) or N(d2) (call)
    expected assignment loss   L = 100 x E[payoff]   (put: K - S_T, call: upside forgone)
    loss given assignment      L / p
    expected value             EV = 100 x fill - D x L - fees(open) - D x p x assignment_fee
    gross expected value       100 x mid - D x L        (no slippage, no fees)
    expected value per day     EV / days to expiry
    net annualized return      c / (capital - c) x 365 / days, c = fill - fees(open) / 100,
                               capital = strike (put) or the lot's cost basis (call)

With mu = r and sigma_f equal to the implied volatility, the gross EV of a European contract
at its model price is zero: the EV measures the gap between implied and expected volatility.
Early exercise is ignored (flagged separately for calls ahead of dividends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from wheelflow.strategy.config import BrokerFees
from wheelflow.strategy.fees import trade_fees
from wheelflow.strategy.wheel import SHARES_PER_CONTRACT


@dataclass(frozen=True)
class ExpectedValue:
    """Per-contract figures (USD unless a rate), one entry per input contract."""

    probability_assignment: np.ndarray
    expected_assignment_loss: np.ndarray
    expected_loss_given_assignment: np.ndarray
    fees: np.ndarray  # opening fees per contract
    expected_value: np.ndarray
    gross_expected_value: np.ndarray
    expected_value_per_day: np.ndarray
    net_annualized_return: np.ndarray


def lognormal_partial_expectations(
    forward: np.ndarray, strike: np.ndarray, total_sd: np.ndarray, is_call: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(P(in the money at expiry), E[payoff]) of a call or put on a lognormal S_T with mean
    ``forward`` and log standard deviation ``total_sd``."""
    f, k, s = (np.asarray(a, dtype=float) for a in (forward, strike, total_sd))
    call = np.asarray(is_call, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(f / k) + 0.5 * s**2) / s
    d2 = d1 - s
    p_call, p_put = ndtr(d2), ndtr(-d2)
    e_call = f * ndtr(d1) - k * p_call
    e_put = k * p_put - f * ndtr(-d1)
    # s = 0: the outcome is certain (F itself).
    certain = s <= 0
    p = np.where(call, p_call, p_put)
    e = np.where(call, e_call, e_put)
    p = np.where(certain, np.where(call, f > k, f < k).astype(float), p)
    e = np.where(certain, np.where(call, np.maximum(f - k, 0), np.maximum(k - f, 0)), e)
    return p, np.maximum(e, 0.0)


def expected_value(
    *,
    spot: np.ndarray,
    strike: np.ndarray,
    years: np.ndarray,
    days: np.ndarray,
    is_call: np.ndarray,
    fill: np.ndarray,
    mid: np.ndarray,
    forecast_vol: np.ndarray,
    fees: BrokerFees,
    risk_free_rate: float,
    drift: float,
    dividend_pv: np.ndarray | float = 0.0,
    extra_variance: np.ndarray | float = 0.0,
    capital: np.ndarray | None = None,
) -> ExpectedValue:
    """Expected value of selling one contract of each row (see the module docstring).

    ``fill`` and ``mid`` per share; ``years``/``days`` to expiry; ``extra_variance`` is added
    to sigma_f^2 T (an earnings move); ``capital`` per share defaults to the strike.
    """
    k = np.asarray(strike, dtype=float)
    t = np.asarray(years, dtype=float)
    d = np.asarray(days, dtype=float)
    fill = np.asarray(fill, dtype=float)
    sigma = np.asarray(forecast_vol, dtype=float)
    forward = (np.asarray(spot, dtype=float) - np.asarray(dividend_pv, dtype=float)) * np.exp(
        drift * t
    )
    total_sd = np.sqrt(np.maximum(sigma**2 * t + np.asarray(extra_variance, dtype=float), 0.0))
    p, payoff = lognormal_partial_expectations(forward, k, total_sd, is_call)
    discount = np.exp(-risk_free_rate * t)
    loss = SHARES_PER_CONTRACT * payoff
    open_fees = trade_fees(fees, fill, "sell")
    ev = SHARES_PER_CONTRACT * fill - discount * loss - open_fees
    ev = ev - discount * p * fees.assignment_fee
    gross = SHARES_PER_CONTRACT * np.asarray(mid, dtype=float) - discount * loss
    credit = fill - open_fees / SHARES_PER_CONTRACT
    cap = k if capital is None else np.asarray(capital, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        given = np.where(p > 0, loss / p, 0.0)
        per_day = np.where(d > 0, ev / d, np.nan)
        at_risk = cap - credit
        net_annual = np.where((d > 0) & (at_risk > 0), credit / at_risk * 365.0 / d, np.nan)
    return ExpectedValue(
        probability_assignment=p,
        expected_assignment_loss=loss,
        expected_loss_given_assignment=given,
        fees=open_fees,
        expected_value=ev,
        gross_expected_value=gross,
        expected_value_per_day=per_day,
        net_annualized_return=net_annual,
    )
