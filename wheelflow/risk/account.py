"""Per-account figures from the ledger: cash, open shorts and their collateral, stock at cost
and at market, equity and buying power; and each account's book for revaluation.

The ledger is the ``accounts`` row (cash) and the open ``positions`` rows of an account. An
account with positions but no ``accounts`` row (the demo account of ``make run``, or one whose
positions were imported) has no ledger cash: its starting cash is the screening portfolio
setting ``WHEELFLOW_ACCOUNT_CASH``, and the stock it holds was paid for out of it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from wheelflow.db import read_frame
from wheelflow.risk.revalue import CONTRACT_MULTIPLIER

FIGURE_COLUMNS = (
    "account",
    "has_ledger",
    "cash",
    "put_collateral",
    "short_puts",
    "short_calls",
    "stock_at_cost",
    "stock_at_market",
    "option_value",
    "equity",
    "buying_power",
)
DEFAULT_IV = 0.30  # an option whose IV was never stored is valued at this volatility


def read_open_positions(conn: Connection, snapshot_at: dt.datetime) -> pd.DataFrame:
    """Open positions of every account, each option with its implied vol at the snapshot
    (a primary-key hit; an option missing from the snapshot gets None, see :func:`book_frame`)."""
    return read_frame(
        conn,
        "SELECT p.account, p.symbol, p.asset_type, p.occ_symbol, p.right, p.strike, "
        "p.expiration, p.quantity, p.average_price, p.cost_basis, o.iv FROM positions p "
        "LEFT JOIN option_snapshots o ON o.occ_symbol = p.occ_symbol AND "
        "o.snapshot_at = :t WHERE p.status = 'open' ORDER BY p.account, p.id",
        {"t": snapshot_at},
    )


def read_ledger_cash(conn: Connection) -> dict[str, float]:
    rows = conn.execute(text("SELECT account, cash FROM accounts")).all()
    return {str(a): float(c) for a, c in rows}


def book_frame(
    positions: pd.DataFrame, spot: pd.Series, as_of: dt.datetime, fallback_iv: pd.Series | None
) -> pd.DataFrame:
    """Positions of one account in :data:`wheelflow.risk.revalue.BOOK_COLUMNS` form.

    ``spot`` is the last price by symbol (a symbol without one is valued at its average price);
    ``fallback_iv`` by symbol fills options with no stored IV (else :data:`DEFAULT_IV`)."""
    p = positions.reset_index(drop=True)
    is_option = (p["asset_type"] == "option").to_numpy()
    qty = p["quantity"].astype(float).to_numpy()
    expiry = pd.to_datetime(p["expiration"], errors="coerce")
    close = pd.Timestamp(as_of.date()) + pd.Timedelta(hours=21)
    years = (expiry + pd.Timedelta(hours=21) - close).dt.total_seconds() / (365.0 * 86400.0)
    last = p["symbol"].map(spot).astype(float)
    last = last.fillna(p["average_price"].astype(float))
    fallback = (
        p["symbol"].map(fallback_iv).astype(float)
        if fallback_iv is not None
        else pd.Series(np.nan, index=p.index)
    )
    iv = p["iv"].astype(float).fillna(fallback).fillna(DEFAULT_IV)
    return pd.DataFrame(
        {
            "symbol": p["symbol"].astype(str),
            "asset_type": np.where(is_option, "option", "stock"),
            "right": p["right"].where(is_option, None),
            "strike": p["strike"].astype(float),
            "years": np.where(is_option, years.fillna(0.0).clip(lower=0.0), 0.0),
            "units": np.where(is_option, qty * CONTRACT_MULTIPLIER, qty),
            "iv": np.where(is_option, iv, np.nan),
            "spot": last,
        }
    )


def account_figures(
    positions: pd.DataFrame,
    ledger_cash: dict[str, float],
    option_values: pd.Series,
    spot: pd.Series,
    screening_cash: float,
) -> pd.DataFrame:
    """One row per account (:data:`FIGURE_COLUMNS`), USD.

    ``option_values`` are the model values of the open option positions (aligned with
    ``positions``; negative for shorts). Equity = cash + stock at market + option value;
    buying power = cash - collateral of the short puts.
    """
    accounts = sorted(set(ledger_cash) | set(positions["account"].astype(str)))
    p = positions.assign(
        account=positions["account"].astype(str),
        qty=positions["quantity"].astype(float),
        strike_=positions["strike"].astype(float),
        option_value=option_values.reindex(positions.index).fillna(0.0),
        last=positions["symbol"].map(spot).astype(float).fillna(positions["average_price"]),
    )
    stock = p["asset_type"] == "stock"
    option = p["asset_type"] == "option"
    short_put = option & (p["right"] == "P") & (p["qty"] < 0)
    short_call = option & (p["right"] == "C") & (p["qty"] < 0)
    per = pd.DataFrame(
        {
            "account": p["account"],
            "put_collateral": np.where(
                short_put, -p["qty"] * p["strike_"] * CONTRACT_MULTIPLIER, 0.0
            ),
            "short_puts": np.where(short_put, -p["qty"], 0.0),
            "short_calls": np.where(short_call, -p["qty"], 0.0),
            "stock_at_cost": np.where(stock, p["qty"] * p["average_price"].astype(float), 0.0),
            "stock_at_market": np.where(stock, p["qty"] * p["last"], 0.0),
            "option_value": np.where(option, p["option_value"], 0.0),
        }
    )
    sums = per.groupby("account").sum().reindex(accounts).fillna(0.0)
    has_ledger = pd.Series([a in ledger_cash for a in accounts], index=accounts)
    cash = pd.Series(
        [
            ledger_cash[a]
            if a in ledger_cash
            else screening_cash - float(sums.at[a, "stock_at_cost"])
            for a in accounts
        ],
        index=accounts,
    )
    out = sums.assign(has_ledger=has_ledger, cash=cash)
    out["equity"] = out["cash"] + out["stock_at_market"] + out["option_value"]
    out["buying_power"] = out["cash"] - out["put_collateral"]
    out = out.reset_index(names="account")
    return out[list(FIGURE_COLUMNS)]
