"""Screening and ranking of cash-secured puts (csp) and covered calls (cc), over whole chains.

Gross formulas (per share; ``premium`` is the mid or the bid, as configured):

- CSP: capital at risk = strike - premium; breakeven = strike - premium; collateral = strike x 100;
  probability OTM = P(S_T > K) = N(d2) under the risk-neutral measure.
- CC:  capital at risk = cost basis - premium (the lot's premium-adjusted basis, what the shares
  really cost); breakeven = cost basis - premium; collateral = the 100 shares at the underlying
  price; probability OTM = P(S_T < K) = N(-d2).
- period return = premium / capital at risk (the "static return" screeners such as Barchart
  print); annualized return = period return x 365 / days to expiry (simple, not compounded).
- score = annualized return x probability_otm ** pop_weight / (1 + spread_pct) ** spread_weight
  (today's gross score, kept for comparison).

d2 = (ln(S'/K) + (r - sigma^2/2) t) / (sigma sqrt t) with S' = S - PV(dividends before expiry)
(the escrowed-dividend model; Hull, Options, Futures and Other Derivatives, ch. 15).

Candidates are ranked by ``expected_value`` (net of the real fill and fees, under the forecast
volatility; ``strategy.valuation``), best first, at most ``top_n_per_underlying`` per symbol.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import ndtr

from wheelflow.market_time import days_to_expiry, years_to_expiry
from wheelflow.strategy.config import ScreeningConfig, StrategyConfig
from wheelflow.strategy.valuation import VALUE_COLUMNS, MarketContext, excluded, value_candidates

Strategy = Literal["csp", "cc"]

RANKING_COLUMNS: tuple[str, ...] = (
    "strategy",
    "rank",
    "occ_symbol",
    "underlying",
    "expiration",
    "strike",
    "right",
    "underlying_price",
    "bid",
    "ask",
    "premium",
    "days_to_expiry",
    "period_return",
    "annualized_return",
    "probability_otm",
    "delta",
    "iv",
    "breakeven",
    "collateral",
    "spread_pct",
    "open_interest",
    "volume",
    "score",
    "blocked",
    "blocked_reason",
    *VALUE_COLUMNS,
)


def mid_price(bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    return (np.asarray(bid, dtype=float) + np.asarray(ask, dtype=float)) / 2.0


def spread_pct(bid: np.ndarray, ask: np.ndarray) -> np.ndarray:
    """(ask - bid) / mid; infinite where the mid is zero."""
    mid = mid_price(bid, ask)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(mid > 0, (np.asarray(ask) - np.asarray(bid)) / mid, np.inf)


def period_return(premium: np.ndarray, capital_price: np.ndarray) -> np.ndarray:
    """premium / (capital_price - premium): the return on the cash actually at risk."""
    capital = np.asarray(capital_price, dtype=float) - np.asarray(premium, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(capital > 0, np.asarray(premium) / capital, np.nan)


def annualized_return(period: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Simple annualization over a 365-day year."""
    days = np.asarray(days, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(days > 0, np.asarray(period) * 365.0 / days, np.nan)


def probability_otm(
    spot: np.ndarray,
    strike: np.ndarray,
    t: np.ndarray,
    sigma: np.ndarray,
    is_call: np.ndarray,
    r: float = 0.0,
    q: float = 0.0,
) -> np.ndarray:
    """Risk-neutral probability that the option expires out of the money."""
    spot, strike, t, sigma = (np.asarray(a, dtype=float) for a in (spot, strike, t, sigma))
    with np.errstate(divide="ignore", invalid="ignore"):
        d2 = (np.log(spot / strike) + (r - q - 0.5 * sigma**2) * t) / (sigma * np.sqrt(t))
    p_above = ndtr(d2)
    return np.where(np.asarray(is_call, dtype=bool), 1.0 - p_above, p_above)


def rank_candidates(
    chain: pd.DataFrame,
    strategy: Strategy,
    config: ScreeningConfig,
    snapshot_at: dt.datetime,
    *,
    risk_free_rate: float = 0.0,
    cost_basis: Mapping[str, float] | None = None,
    strategy_config: StrategyConfig | None = None,
    context: MarketContext | None = None,
) -> pd.DataFrame:
    """Screen one strategy's contracts of ``chain`` and return them ranked (RANKING_COLUMNS).

    ``chain`` has the option_snapshots columns (with iv and delta). For covered calls only the
    underlyings in ``cost_basis`` (per-share, premium-adjusted cost basis of the long stock) are
    considered, and with ``config.cc_min_strike_vs_cost_basis`` only strikes at or above it.
    ``strategy_config`` supplies fills, fees and event rules (defaults around ``config``);
    ``context`` the volatility forecasts and event feeds (none: contracts valued at their IV).
    """
    full = strategy_config or StrategyConfig(screening=config)
    right = "P" if strategy == "csp" else "C"
    c = chain[(chain["right"] == right) & chain["iv"].notna() & chain["delta"].notna()]
    basis = dict(cost_basis or {})
    if strategy == "cc":
        c = c[c["underlying"].isin(list(basis))]
        if config.cc_min_strike_vs_cost_basis and len(c):
            c = c[c["strike"].to_numpy() >= c["underlying"].map(basis).to_numpy(dtype=float)]
    if c.empty:
        return pd.DataFrame(columns=list(RANKING_COLUMNS))

    bid = c["bid"].to_numpy(dtype=float)
    ask = c["ask"].to_numpy(dtype=float)
    premium = mid_price(bid, ask) if config.premium_basis == "mid" else bid
    days = days_to_expiry(snapshot_at, c["expiration"])
    spread = spread_pct(bid, ask)
    abs_delta = np.abs(c["delta"].to_numpy(dtype=float))
    dmin, dmax = (
        (config.csp_delta_min, config.csp_delta_max)
        if strategy == "csp"
        else (config.cc_delta_min, config.cc_delta_max)
    )
    oi = c["open_interest"].fillna(0).to_numpy(dtype=float)
    vol = c["volume"].fillna(0).to_numpy(dtype=float)
    eligible = (
        (days >= config.min_days_to_expiry)
        & (days <= config.max_days_to_expiry)
        & (abs_delta >= dmin)
        & (abs_delta <= dmax)
        & (oi >= config.min_open_interest)
        & (vol >= config.min_volume)
        & (spread <= config.max_spread_pct)
        & (premium >= config.min_premium)
    )
    c, premium, days, spread = c[eligible], premium[eligible], days[eligible], spread[eligible]
    if c.empty:
        return pd.DataFrame(columns=list(RANKING_COLUMNS))

    spot = c["underlying_price"].to_numpy(dtype=float)
    strike = c["strike"].to_numpy(dtype=float)
    t = years_to_expiry(snapshot_at, c["expiration"])
    capital_price = (
        strike if strategy == "csp" else c["underlying"].map(basis).to_numpy(dtype=float)
    )
    period = period_return(premium, capital_price)
    annual = annualized_return(period, days)
    values = value_candidates(
        c,
        strategy_config=full,
        context=context or MarketContext(),
        snapshot_at=snapshot_at,
        days=days,
        years=t,
        risk_free_rate=risk_free_rate,
        capital_price=capital_price,
    )
    is_call = np.full(len(c), strategy == "cc")
    adjusted_spot = spot - values["dividend_pv"].to_numpy(dtype=float)
    iv = c["iv"].to_numpy(dtype=float)
    pop = probability_otm(adjusted_spot, strike, t, iv, is_call, risk_free_rate)
    score = annual * pop**config.pop_weight / (1.0 + spread) ** config.spread_weight
    keep = (
        (annual >= config.min_annualized_return)
        & np.isfinite(score)
        & np.isfinite(values["expected_value"].to_numpy(dtype=float))
        & ~excluded(values, full)
    )
    out = pd.DataFrame(
        {
            "strategy": strategy,
            "occ_symbol": c["occ_symbol"].to_numpy(),
            "underlying": c["underlying"].to_numpy(),
            "expiration": pd.to_datetime(c["expiration"]).to_numpy(),
            "strike": strike,
            "right": right,
            "underlying_price": spot,
            "bid": c["bid"].to_numpy(dtype=float),
            "ask": c["ask"].to_numpy(dtype=float),
            "premium": premium,
            "days_to_expiry": days,
            "period_return": period,
            "annualized_return": annual,
            "probability_otm": pop,
            "delta": c["delta"].to_numpy(dtype=float),
            "iv": iv,
            "breakeven": capital_price - premium,
            "collateral": (strike if strategy == "csp" else spot) * 100.0,
            "spread_pct": spread,
            "open_interest": c["open_interest"].to_numpy(),
            "volume": c["volume"].to_numpy(),
            "score": score,
            **{col: values[col].to_numpy() for col in VALUE_COLUMNS},
        }
    )[keep]
    # Best few per underlying by expected value, then a global order; ties broken by contract.
    out = out.sort_values(
        ["expected_value", "occ_symbol"], ascending=[False, True], kind="mergesort"
    )
    out = out.groupby("underlying", sort=False).head(config.top_n_per_underlying)
    out = out.head(config.max_rankings).reset_index(drop=True)
    out.insert(1, "rank", np.arange(1, len(out) + 1))
    out["blocked"] = False
    out["blocked_reason"] = None
    return out[list(RANKING_COLUMNS)]
