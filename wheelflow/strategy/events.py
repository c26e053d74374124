"""Dividends and earnings over each contract's life: flags and the dividends' present value.

For a contract alive from ``as_of`` to its expiration (both inclusive):

- ``spans_earnings``: an earnings date falls in that window (the stock can gap);
- ``spans_ex_dividend``: an ex-dividend date falls after ``as_of`` and on or before expiry;
  ``dividend_pv`` = sum of amount x e^{-r t_ex} of those dividends (t_ex in years), the
  escrowed-dividend adjustment of the spot for IV, greeks and probabilities;
- ``early_assignment_risk`` (calls): the call's extrinsic value (price - max(S - K, 0)) is
  below the largest dividend going ex before expiry, so a holder gains by exercising the day
  before the ex-date (Hull ch. 11; the same rule as ``strategy.wheel`` uses after the fact).

Feed rows with a ``parse_error`` are not used here (the pipeline quarantines them).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

EVENT_COLUMNS: tuple[str, ...] = (
    "spans_earnings",
    "spans_ex_dividend",
    "dividend_pv",
    "early_assignment_risk",
)


def readable(feed: pd.DataFrame) -> pd.DataFrame:
    """Rows of an event feed without a parse error (and with their date and symbol)."""
    ok = feed["parse_error"].isna() if "parse_error" in feed.columns else True
    date_col = "ex_date" if "ex_date" in feed.columns else "earnings_date"
    return feed[ok & feed[date_col].notna() & feed["symbol"].notna()]


def _window_hits(
    contracts: pd.DataFrame, feed: pd.DataFrame, date_col: str, as_of: pd.Timestamp
) -> pd.DataFrame:
    """(row, event date, feed columns) for every event inside each contract's window."""
    left = pd.DataFrame(
        {
            "row": np.arange(len(contracts)),
            "symbol": contracts["underlying"].to_numpy(),
            "expiration": pd.to_datetime(contracts["expiration"]).dt.normalize().to_numpy(),
        }
    )
    hits = left.merge(feed, on="symbol", how="inner")
    when = pd.to_datetime(hits[date_col])
    return hits[(when >= as_of) & (when <= hits["expiration"])]


def contract_events(
    contracts: pd.DataFrame,
    as_of: dt.date,
    dividends: pd.DataFrame,
    earnings: pd.DataFrame,
    *,
    risk_free_rate: float,
    option_price: np.ndarray | None = None,
) -> pd.DataFrame:
    """EVENT_COLUMNS for each row of ``contracts`` (underlying, expiration, right, strike,
    underlying_price); ``option_price`` per share (e.g. the mid) for the early-assignment test.
    """
    n = len(contracts)
    day = pd.Timestamp(as_of)
    out = pd.DataFrame(
        {
            "spans_earnings": np.zeros(n, dtype=bool),
            "spans_ex_dividend": np.zeros(n, dtype=bool),
            "dividend_pv": np.zeros(n),
            "early_assignment_risk": np.zeros(n, dtype=bool),
        }
    )
    if n == 0:
        return out
    earn = readable(earnings)
    if not earn.empty:
        hits = _window_hits(contracts, earn[["symbol", "earnings_date"]], "earnings_date", day)
        out.loc[hits["row"].unique(), "spans_earnings"] = True
    div = readable(dividends)
    # A dividend going ex today is already out of the price: only later ex-dates count.
    div = div[pd.to_datetime(div["ex_date"]) > day] if not div.empty else div
    if div.empty:
        return out
    hits = _window_hits(contracts, div[["symbol", "ex_date", "amount"]], "ex_date", day)
    years = (pd.to_datetime(hits["ex_date"]) - day).dt.days.to_numpy() / 365.0
    hits = hits.assign(pv=hits["amount"].to_numpy(float) * np.exp(-risk_free_rate * years))
    per_row = hits.groupby("row").agg(pv=("pv", "sum"), largest=("amount", "max"))
    rows = per_row.index.to_numpy()
    out.loc[rows, "spans_ex_dividend"] = True
    out.loc[rows, "dividend_pv"] = per_row["pv"].to_numpy()
    if option_price is not None:
        largest = np.zeros(n)
        largest[rows] = per_row["largest"].to_numpy(float)
        spot = contracts["underlying_price"].to_numpy(float)
        strike = contracts["strike"].to_numpy(float)
        is_call = (contracts["right"] == "C").to_numpy()
        extrinsic = np.asarray(option_price, dtype=float) - np.maximum(spot - strike, 0.0)
        out["early_assignment_risk"] = is_call & (largest > 0) & (extrinsic < largest)
    return out
