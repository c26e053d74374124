"""What the wheel does at one snapshot: manage open shorts, then open new ones (pure, no I/O).

Inputs are frames and the open cycles; the output is a list of ``Decision`` each carrying a
deterministic client order id, so the same snapshot always yields the same orders.

Frames
- ``rankings``: the ``rankings`` table's columns (strategy csp|cc, occ_symbol, underlying,
  expiration, strike, right, bid, ask, premium, delta, days_to_expiry, open_interest,
  spread_pct, score, blocked).
- ``option_quotes``: occ_symbol, bid, ask of the open shorts at the snapshot (USD per share).
- ``underlying_quotes``: symbol, last, prev_close (USD).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from wheelflow.execution.broker import OrderSide
from wheelflow.strategy.config import StrategyConfig, WheelConfig
from wheelflow.strategy.sizing import (
    contracts_for_allocation,
    covered_call_contracts,
    limit_price,
    limit_prices,
    symbol_allocation,
)
from wheelflow.strategy.wheel import SHARES_PER_CONTRACT, WheelCycle, WheelState

Action = Literal["open_put", "open_call", "close", "roll"]
RANKING_INPUT_COLUMNS: tuple[str, ...] = (
    "strategy",
    "occ_symbol",
    "underlying",
    "expiration",
    "strike",
    "right",
    "bid",
    "ask",
    "delta",
    "days_to_expiry",
    "open_interest",
    "spread_pct",
    "score",
    "blocked",
)


@dataclass(frozen=True)
class Leg:
    """One order of a decision (prices per share, USD)."""

    side: OrderSide
    occ_symbol: str
    right: str  # 'P'|'C'
    strike: float
    expiration: dt.date
    quantity: int  # contracts
    limit_price: float


@dataclass(frozen=True)
class Decision:
    """An action on one underlying; a roll has a closing ``leg`` and an opening ``roll_to``."""

    action: Action
    account: str
    symbol: str
    snapshot_at: dt.datetime
    leg: Leg
    reason: str
    roll_to: Leg | None = None

    def client_order_id(self, leg: Leg | None = None) -> str:
        """Deterministic id of one leg: the same decision on the same snapshot, the same id."""
        leg = leg or self.leg
        key = f"{self.account}|{self.snapshot_at:%Y%m%dT%H%M%S}|{self.action}|{leg.side}|"
        key += leg.occ_symbol
        return "wf-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def decide(
    rankings: pd.DataFrame,
    book: Mapping[str, WheelCycle],
    option_quotes: pd.DataFrame,
    underlying_quotes: pd.DataFrame,
    *,
    buying_power: float,
    equity: float,
    config: StrategyConfig,
    snapshot_at: dt.datetime,
    as_of: dt.date,
) -> list[Decision]:
    """Manage every open short, then write calls on idle stock and puts with free cash."""
    wheel = config.wheel
    if rankings.empty:
        rankings = pd.DataFrame(columns=list(RANKING_INPUT_COLUMNS))
    spot = _by_symbol(underlying_quotes)
    marks = option_quotes.drop_duplicates("occ_symbol").set_index("occ_symbol")
    candidates = screen(rankings, wheel)
    decisions: list[Decision] = []
    for cycle in book.values():
        if cycle.state in (WheelState.SHORT_PUT, WheelState.SHORT_CALL):
            managed = manage_short(cycle, marks, spot, candidates, config, snapshot_at, as_of)
            if managed is not None:
                decisions.append(managed)
        elif cycle.state is WheelState.LONG_STOCK:
            call = open_covered_call(cycle, candidates, spot, wheel, snapshot_at)
            if call is not None:
                decisions.append(call)
    decisions += open_puts(candidates, book, spot, wheel, buying_power, equity, snapshot_at)
    return decisions


def screen(rankings: pd.DataFrame, wheel: WheelConfig) -> pd.DataFrame:
    """CSP puts and CC calls that pass the opening rules, best score first, with
    ``limit_price`` and ``expiration_date`` columns; every later step only filters this."""
    parts = [
        eligible(rankings[rankings["strategy"] == "csp"], wheel, "P"),
        eligible(rankings[rankings["strategy"] == "cc"], wheel, "C"),
    ]
    filled = [p for p in parts if len(p)]
    out = pd.concat(filled, ignore_index=True) if filled else parts[0]
    out["expiration_date"] = pd.to_datetime(out["expiration"]).dt.date
    return out.sort_values(["score", "occ_symbol"], ascending=[False, True])


def eligible(candidates: pd.DataFrame, wheel: WheelConfig, right: str) -> pd.DataFrame:
    """Candidates inside the wheel's delta/DTE windows, liquidity and minimum-credit rules."""
    if candidates.empty:
        return candidates.assign(limit_price=pd.Series(dtype=float))
    target = wheel.put_target_delta if right == "P" else wheel.call_target_delta
    c = candidates
    limit = _limits(c, "sell", wheel)
    mask = (
        (c["right"] == right)
        & ~c["blocked"].astype(bool)
        & ((c["delta"].abs() - target).abs() <= wheel.delta_tolerance)
        & c["days_to_expiry"].between(wheel.min_days_to_expiry, wheel.max_days_to_expiry)
        & (pd.to_numeric(c["open_interest"], errors="coerce").fillna(0) >= wheel.min_open_interest)
        & (c["spread_pct"] <= wheel.max_spread_pct)
        & (limit >= wheel.min_credit)
    )
    out = c[mask.to_numpy()].copy()
    out["limit_price"] = limit[mask.to_numpy()]
    return out.sort_values(["score", "occ_symbol"], ascending=[False, True])


def open_covered_call(
    cycle: WheelCycle,
    candidates: pd.DataFrame,
    spot: Mapping[str, tuple[float, float | None]],
    wheel: WheelConfig,
    snapshot_at: dt.datetime,
) -> Decision | None:
    """The best call on the cycle's shares, at or above the cost basis when configured."""
    contracts = covered_call_contracts(cycle.shares)
    if contracts == 0:
        return None
    if wheel.calls_only_on_green_days and not _is_green(spot.get(cycle.symbol)):
        return None
    calls = candidates[(candidates["right"] == "C") & (candidates["underlying"] == cycle.symbol)]
    if wheel.calls_at_or_above_cost_basis and cycle.cost_basis is not None:
        calls = calls[calls["strike"] >= cycle.cost_basis - 1e-9]
    if calls.empty:
        return None
    best = calls.iloc[0]
    leg = _leg(best, "sell_to_open", contracts)
    reason = f"covered call on {cycle.shares} shares, cost basis {cycle.cost_basis:.2f}"
    return Decision("open_call", _account(wheel), cycle.symbol, snapshot_at, leg, reason)


def open_puts(
    candidates: pd.DataFrame,
    book: Mapping[str, WheelCycle],
    spot: Mapping[str, tuple[float, float | None]],
    wheel: WheelConfig,
    buying_power: float,
    equity: float,
    snapshot_at: dt.datetime,
) -> list[Decision]:
    """Cash-secured puts on idle symbols, best score first, within each budget.

    Budgets: the symbol's allocation, the run's share of buying power
    (``max_new_buying_power_share``) and the buying power itself (fully collateralized).
    """
    busy = {s for s, c in book.items() if not c.closed and c.state is not WheelState.CASH}
    puts = candidates[(candidates["right"] == "P") & ~candidates["underlying"].isin(busy)]
    if wheel.puts_only_on_red_days:
        red = [s for s in puts["underlying"].unique() if _is_red(spot.get(s))]
        puts = puts[puts["underlying"].isin(red)]
    best = puts.drop_duplicates("underlying", keep="first")
    run_budget = max(buying_power, 0.0) * wheel.max_new_buying_power_share
    decisions: list[Decision] = []
    for _, row in best.iterrows():
        strike = float(row["strike"])
        allocation = symbol_allocation(str(row["underlying"]), equity, wheel)
        contracts = contracts_for_allocation(allocation, strike, min(run_budget, buying_power))
        if contracts == 0:
            continue
        collateral = contracts * strike * SHARES_PER_CONTRACT
        run_budget -= collateral
        buying_power -= collateral
        leg = _leg(row, "sell_to_open", contracts)
        reason = f"cash-secured put, score {float(row['score']):.4f}, collateral {collateral:.0f}"
        decisions.append(
            Decision("open_put", _account(wheel), str(row["underlying"]), snapshot_at, leg, reason)
        )
    return decisions


def manage_short(
    cycle: WheelCycle,
    marks: pd.DataFrame,
    spot: Mapping[str, tuple[float, float | None]],
    candidates: pd.DataFrame,
    config: StrategyConfig,
    snapshot_at: dt.datetime,
    as_of: dt.date,
) -> Decision | None:
    """Close at the profit target, or roll near expiry; None means hold.

    ITM calls (puts) near expiry are left to be called away (assigned) unless
    ``roll_itm_calls`` (``roll_itm_puts``). A roll needs a candidate further out that passes the
    opening rules, a net credit when ``roll_for_credit_only``, and for calls a strike at or above
    the cost basis when ``never_roll_call_below_cost_basis``.
    """
    mgmt, wheel = config.management, config.wheel
    occ = cycle.option_occ
    if occ is None or occ not in marks.index or cycle.option_premium is None:
        return None
    bid, ask = float(marks.at[occ, "bid"]), float(marks.at[occ, "ask"])
    right = "P" if cycle.state is WheelState.SHORT_PUT else "C"
    close_limit = limit_price(bid, ask, "buy", wheel.slippage, wheel.limit_price)
    if not math.isfinite(close_limit):
        return None  # no usable quote for the open short today: hold
    premium = cycle.option_premium
    captured = (premium - close_limit) / premium if premium > 0 else 0.0
    assert cycle.option_expiration is not None and cycle.option_strike is not None
    close_leg = Leg(
        "buy_to_close",
        occ,
        right,
        cycle.option_strike,
        cycle.option_expiration,
        cycle.contracts,
        close_limit,
    )
    account = _account(wheel)
    if mgmt.profit_target is not None and captured >= mgmt.profit_target:
        reason = f"profit target: {captured:.0%} of the premium captured"
        return Decision("close", account, cycle.symbol, snapshot_at, close_leg, reason)
    dte = (cycle.option_expiration - as_of).days
    if mgmt.roll_when_dte_at_most is None or dte > mgmt.roll_when_dte_at_most:
        return None
    price = spot.get(cycle.symbol, (float("nan"), None))[0]
    itm = price < cycle.option_strike if right == "P" else price > cycle.option_strike
    if itm and not (mgmt.roll_itm_puts if right == "P" else mgmt.roll_itm_calls):
        return None
    if not itm and captured < mgmt.roll_min_pnl:
        return None
    targets = candidates[
        (candidates["right"] == right)
        & (candidates["underlying"] == cycle.symbol)
        & (candidates["expiration_date"] > cycle.option_expiration)
    ]
    if right == "C" and mgmt.never_roll_call_below_cost_basis and cycle.cost_basis is not None:
        targets = targets[targets["strike"] >= cycle.cost_basis - 1e-9]
    if mgmt.roll_for_credit_only:
        targets = targets[targets["limit_price"] > close_limit]
    if targets.empty:
        return None
    new_leg = _leg(targets.iloc[0], "sell_to_open", cycle.contracts)
    reason = f"roll at {dte} DTE ({'ITM' if itm else 'OTM'}, {captured:.0%} captured)"
    return Decision("roll", account, cycle.symbol, snapshot_at, close_leg, reason, new_leg)


def _limits(c: pd.DataFrame, side: Literal["sell", "buy"], wheel: WheelConfig) -> pd.Series:
    bid = pd.to_numeric(c["bid"], errors="coerce").to_numpy(dtype=float)
    ask = pd.to_numeric(c["ask"], errors="coerce").to_numpy(dtype=float)
    values = limit_prices(bid, ask, side, wheel.slippage, wheel.limit_price)
    return pd.Series(values, index=c.index, dtype=float)


def _leg(row: pd.Series, side: OrderSide, contracts: int) -> Leg:
    return Leg(
        side=side,
        occ_symbol=str(row["occ_symbol"]),
        right=str(row["right"]),
        strike=float(row["strike"]),
        expiration=pd.Timestamp(row["expiration"]).date(),
        quantity=int(contracts),
        limit_price=float(row["limit_price"]),
    )


def _by_symbol(quotes: pd.DataFrame) -> dict[str, tuple[float, float | None]]:
    out: dict[str, tuple[float, float | None]] = {}
    for sym, last, prev in zip(quotes["symbol"], quotes["last"], quotes["prev_close"], strict=True):
        out[str(sym)] = (float(last), None if pd.isna(prev) else float(prev))
    return out


def _is_red(quote: tuple[float, float | None] | None) -> bool:
    return quote is not None and quote[1] is not None and quote[0] < quote[1]


def _is_green(quote: tuple[float, float | None] | None) -> bool:
    return quote is not None and quote[1] is not None and quote[0] > quote[1]


def _account(wheel: WheelConfig) -> str:
    return wheel.account
