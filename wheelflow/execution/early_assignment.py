"""Early-assignment risk of short calls around ex-dividend dates.

A call holder gains by exercising the day before the ex-date when the dividend exceeds the
call's remaining time value (Hull, Options, Futures and Other Derivatives, ch. 11), so an
in-the-money short call whose extrinsic value is below an upcoming dividend is likely to be
assigned early. The rule itself is ``wheelflow.strategy.wheel.early_assignment_risk``; this
module applies it to an account's open cycles at a snapshot and words the alerts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from wheelflow.db import read_frame
from wheelflow.execution.ledger import load_open_cycles
from wheelflow.market_time import snapshot_date
from wheelflow.strategy.wheel import WheelState, early_assignment_risk


def open_short_call_symbols(engine: Engine, account: str) -> list[str]:
    """Underlyings on which ``account`` is short calls (the ones that need a dividend check)."""
    with engine.connect() as conn:
        return sorted(
            c.symbol
            for _, c in load_open_cycles(conn, account).values()
            if c.state is WheelState.SHORT_CALL
        )


def early_assignment_alerts(
    engine: Engine, account: str, snapshot_at: dt.datetime, dividends: pd.DataFrame
) -> list[dict[str, Any]]:
    """Alert rows (the ``alerts`` table's columns) for short calls at risk of early assignment.

    Prices are the snapshot's: the underlying's last and the call's mid. ``dividends`` has the
    DIVIDEND_COLUMNS of ``wheelflow.providers.base``.
    """
    with engine.connect() as conn:
        cycles = [
            c
            for _, c in load_open_cycles(conn, account).values()
            if c.state is WheelState.SHORT_CALL and c.option_occ
        ]
        if not cycles or dividends.empty:
            return []
        quotes = read_frame(
            conn,
            "SELECT symbol, last FROM underlying_quotes WHERE snapshot_at = :s",
            {"s": snapshot_at},
        )
        options = read_frame(
            conn,
            "SELECT occ_symbol, bid, ask FROM option_snapshots WHERE snapshot_at = :s",
            {"s": snapshot_at},
        )
    as_of = snapshot_date(snapshot_at)
    last = dict(zip(quotes["symbol"], quotes["last"].astype(float), strict=True))
    mid = dict(
        zip(options["occ_symbol"], (options["bid"] + options["ask"]).astype(float) / 2, strict=True)
    )
    upcoming = dividends[pd.to_datetime(dividends["ex_date"]).dt.date >= as_of]
    next_dividend = {
        str(sym): (
            pd.Timestamp(g["ex_date"].min()).date(),
            float(g.loc[g["ex_date"].idxmin(), "amount"]),
        )
        for sym, g in upcoming.groupby("symbol")
    }
    alerts: list[dict[str, Any]] = []
    for cycle in cycles:
        if cycle.symbol not in next_dividend or cycle.symbol not in last:
            continue
        option_price = mid.get(cycle.option_occ or "")
        if option_price is None:
            continue
        ex_date, amount = next_dividend[cycle.symbol]
        spot = last[cycle.symbol]
        if not early_assignment_risk(cycle, spot, option_price, ex_date, amount, as_of):
            continue
        extrinsic = option_price - (spot - float(cycle.option_strike or 0.0))
        alerts.append(
            {
                "dedup_key": f"early:{account}:{cycle.option_occ}:{ex_date}",
                "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
                "snapshot_at": snapshot_at,
                "kind": "early_assignment_risk",
                "severity": "warning",
                "symbol": cycle.symbol,
                "title": f"Early assignment risk: {cycle.option_occ}",
                "message": (
                    f"{cycle.contracts} short call(s) {cycle.option_occ} are in the money "
                    f"(stock {spot:.2f} vs strike {cycle.option_strike:g}) with "
                    f"{extrinsic:.2f} of time value, below the {amount:.2f} dividend going ex "
                    f"on {ex_date}: expect assignment before the ex-date."
                ),
                "payload": {
                    "account": account,
                    "occ_symbol": cycle.option_occ,
                    "ex_date": ex_date.isoformat(),
                    "dividend": amount,
                    "extrinsic": round(extrinsic, 4),
                },
            }
        )
    return alerts
