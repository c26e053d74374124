"""What a screened candidate is worth to the seller: fill, fees, forecast, events, EV columns.

``value_candidates`` takes the screened contracts of one strategy and returns, row for row, the
VALUE_COLUMNS that rankings store next to the gross figures (see ``expected_value`` for the
formulas and the README for a worked example). The ranking key is ``expected_value``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wheelflow.providers.base import DIVIDEND_COLUMNS, EARNINGS_COLUMNS, empty_frame
from wheelflow.strategy.config import StrategyConfig
from wheelflow.strategy.events import contract_events
from wheelflow.strategy.expected_value import expected_value
from wheelflow.strategy.sizing import sell_fill_prices
from wheelflow.volatility import VolatilityForecast

VALUE_COLUMNS: tuple[str, ...] = (
    "fill_price",
    "fees",
    "forecast_vol",
    "probability_assignment",
    "expected_loss_given_assignment",
    "gross_expected_value",
    "expected_value",
    "expected_value_per_day",
    "net_annualized_return",
    "spans_earnings",
    "spans_ex_dividend",
    "dividend_pv",
    "early_assignment_risk",
    "flags",
)


@dataclass(frozen=True)
class MarketContext:
    """What the valuation reads besides the chain: forecasts and event feeds."""

    forecast: VolatilityForecast = field(default_factory=VolatilityForecast.empty)
    dividends: pd.DataFrame = field(default_factory=lambda: empty_frame(DIVIDEND_COLUMNS))
    earnings: pd.DataFrame = field(default_factory=lambda: empty_frame(EARNINGS_COLUMNS))


def value_candidates(
    c: pd.DataFrame,
    *,
    strategy_config: StrategyConfig,
    context: MarketContext,
    snapshot_at: dt.datetime,
    days: np.ndarray,
    years: np.ndarray,
    risk_free_rate: float,
    capital_price: np.ndarray,
) -> pd.DataFrame:
    """VALUE_COLUMNS for each row of ``c`` (chain columns with ``iv``), one strategy.

    ``capital_price`` per share is the strike (puts) or the lot's cost basis (calls). The fill
    is the wheel's limit rule (``[wheel] limit_price``, ``slippage``) on the option tick. A
    contract without a forecast (too little history) is valued at its own implied volatility.
    """
    ev_cfg = strategy_config.expected_value
    wheel = strategy_config.wheel
    bid = c["bid"].to_numpy(dtype=float)
    ask = c["ask"].to_numpy(dtype=float)
    mid = (bid + ask) / 2.0
    penny = ~c["underlying"].isin(list(ev_cfg.non_penny_symbols)).to_numpy()
    fill = sell_fill_prices(bid, ask, wheel.slippage, wheel.limit_price, penny)
    iv = c["iv"].to_numpy(dtype=float)
    forecast = context.forecast.annualized(c["underlying"].to_numpy(), days)
    sigma = np.where(np.isfinite(forecast), forecast, iv)
    events = contract_events(
        c,
        snapshot_at.date(),
        context.dividends,
        context.earnings,
        risk_free_rate=risk_free_rate,
        option_price=mid,
    )
    spans_earnings = events["spans_earnings"].to_numpy()
    extra = np.where(spans_earnings & (ev_cfg.earnings == "penalize"), ev_cfg.earnings_move**2, 0.0)
    value = expected_value(
        spot=c["underlying_price"].to_numpy(dtype=float),
        strike=c["strike"].to_numpy(dtype=float),
        years=years,
        days=days,
        is_call=(c["right"] == "C").to_numpy(),
        fill=fill,
        mid=mid,
        forecast_vol=sigma,
        fees=strategy_config.fees.schedule,
        risk_free_rate=risk_free_rate,
        drift=risk_free_rate if ev_cfg.drift == "risk_free" else 0.0,
        dividend_pv=events["dividend_pv"].to_numpy(),
        extra_variance=extra,
        capital=capital_price,
    )
    out = pd.DataFrame(
        {
            "fill_price": fill,
            "fees": value.fees,
            "forecast_vol": sigma,
            "probability_assignment": value.probability_assignment,
            "expected_loss_given_assignment": value.expected_loss_given_assignment,
            "gross_expected_value": value.gross_expected_value,
            "expected_value": value.expected_value,
            "expected_value_per_day": value.expected_value_per_day,
            "net_annualized_return": value.net_annualized_return,
        },
        index=c.index,
    )
    for col in ("spans_earnings", "spans_ex_dividend", "dividend_pv", "early_assignment_risk"):
        out[col] = events[col].to_numpy()
    out["flags"] = flag_text(out)
    return out


def flag_text(values: pd.DataFrame) -> pd.Series:
    """Comma-separated warnings per row ("negative_ev,earnings"); None when there are none."""
    flags = {
        "negative_ev": values["expected_value"].to_numpy(dtype=float) < 0,
        "earnings": values["spans_earnings"].to_numpy(dtype=bool),
        "ex_dividend": values["spans_ex_dividend"].to_numpy(dtype=bool),
        "early_assignment": values["early_assignment_risk"].to_numpy(dtype=bool),
    }
    text = pd.Series("", index=values.index, dtype=object)
    for name, on in flags.items():  # four columns, each over the whole frame
        text = text + np.where(on, name + ",", "")
    text = text.str.rstrip(",")
    return text.where(text != "", None)


def excluded(values: pd.DataFrame, strategy_config: StrategyConfig) -> np.ndarray:
    """Rows the strategy file's event options exclude from the ranking."""
    cfg = strategy_config.expected_value
    out = np.zeros(len(values), dtype=bool)
    if cfg.earnings == "exclude":
        out |= values["spans_earnings"].to_numpy(dtype=bool)
    if cfg.ex_dividend == "exclude":
        out |= values["spans_ex_dividend"].to_numpy(dtype=bool)
    if cfg.early_assignment == "exclude":
        out |= values["early_assignment_risk"].to_numpy(dtype=bool)
    return out
