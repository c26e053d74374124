"""Position sizing and limit prices for the wheel (USD; option prices per share)."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from wheelflow.strategy.config import WheelConfig
from wheelflow.strategy.wheel import SHARES_PER_CONTRACT


def contracts_for_allocation(allocation: float, strike: float, available_cash: float) -> int:
    """Cash-secured puts: floor(min(allocation, available cash) / (strike x 100)), never < 0.

    Fully collateralized: the result never commits more than ``available_cash``.
    """
    if strike <= 0 or not math.isfinite(strike):
        return 0
    budget = min(allocation, available_cash)
    if budget <= 0:
        return 0
    return math.floor(budget / (strike * SHARES_PER_CONTRACT) + 1e-9)


def covered_call_contracts(shares: int) -> int:
    """One call per 100 shares held (no naked calls)."""
    return max(shares, 0) // SHARES_PER_CONTRACT


def symbol_allocation(symbol: str, equity: float, config: WheelConfig) -> float:
    """USD the wheel may commit to ``symbol``: its weight, capped by ``max_allocation``."""
    weight = config.symbol_weights.get(symbol, config.default_weight)
    return max(equity, 0.0) * min(weight, config.max_allocation)


def option_tick(price: np.ndarray, penny_class: np.ndarray | bool = True) -> np.ndarray:
    """Minimum price increment of a US equity option quoted at ``price`` (USD per share).

    Penny Interval Program classes quote in 0.01 below 3.00 and 0.05 from 3.00 up; other
    classes in 0.05 below 3.00 and 0.10 from 3.00 up (Cboe Rule 5.4).
    """
    p = np.asarray(price, dtype=float)
    penny = np.asarray(penny_class, dtype=bool)
    return np.where(penny, np.where(p < 3.0, 0.01, 0.05), np.where(p < 3.0, 0.05, 0.10))


def round_to_tick(
    price: np.ndarray, penny_class: np.ndarray | bool, direction: Literal["down", "up"]
) -> np.ndarray:
    """``price`` on its tick: down for what we sell (never better than offered), up for buys."""
    p = np.asarray(price, dtype=float)
    tick = option_tick(p, penny_class)
    steps = p / tick
    # 1e-6 absorbs binary noise so that 1.15 stays 1.15 instead of dropping a tick.
    steps = np.floor(steps + 1e-6) if direction == "down" else np.ceil(steps - 1e-6)
    return np.round(steps * tick, 2)


def sell_fill_prices(
    bid: np.ndarray,
    ask: np.ndarray,
    slippage: float,
    mode: Literal["mid", "bid_ask"] = "mid",
    penny_class: np.ndarray | bool = True,
) -> np.ndarray:
    """The price a sell to open would really get: the bid, or mid less ``slippage`` x
    half-spread down to the tick and never below the bid. NaN for an unusable quote."""
    bid = np.asarray(bid, dtype=float)
    ask = np.asarray(ask, dtype=float)
    usable = np.isfinite(bid) & np.isfinite(ask) & (bid >= 0) & (ask >= bid)
    with np.errstate(invalid="ignore"):
        if mode == "bid_ask":
            out = bid
        else:
            wanted = (bid + ask) / 2.0 - slippage * (ask - bid) / 2.0
            out = np.maximum(round_to_tick(wanted, penny_class, "down"), bid)
    return np.where(usable, out, np.nan)


def limit_price(
    bid: float,
    ask: float,
    side: Literal["sell", "buy"],
    slippage: float,
    mode: Literal["mid", "bid_ask"] = "mid",
) -> float:
    """Limit per share: mid less (sell) / plus (buy) ``slippage`` x half-spread, to the cent.

    Rounded in the direction that keeps the order marketable at that price (down for sells, up
    for buys). ``bid_ask`` mode takes the touch (bid for sells, ask for buys). A missing or
    crossed quote gives NaN, which no opening rule accepts.
    """
    if not (math.isfinite(bid) and math.isfinite(ask)) or bid < 0 or ask < bid:
        return math.nan  # an unusable quote never becomes an order price
    if mode == "bid_ask":
        return round(bid if side == "sell" else ask, 2)
    mid = (bid + ask) / 2.0
    half = (ask - bid) / 2.0
    if side == "sell":
        return max(math.floor((mid - slippage * half) * 100 + 1e-6) / 100, 0.0)
    return math.ceil((mid + slippage * half) * 100 - 1e-6) / 100


def limit_prices(
    bid: np.ndarray,
    ask: np.ndarray,
    side: Literal["sell", "buy"],
    slippage: float,
    mode: Literal["mid", "bid_ask"] = "mid",
) -> np.ndarray:
    """``limit_price`` over arrays (same rounding, NaN for unusable quotes)."""
    bid = np.asarray(bid, dtype=float)
    ask = np.asarray(ask, dtype=float)
    usable = np.isfinite(bid) & np.isfinite(ask) & (bid >= 0) & (ask >= bid)
    if mode == "bid_ask":
        out = np.round(bid if side == "sell" else ask, 2)
    else:
        mid, half = (bid + ask) / 2.0, (ask - bid) / 2.0
        if side == "sell":
            out = np.maximum(np.floor((mid - slippage * half) * 100 + 1e-6) / 100, 0.0)
        else:
            out = np.ceil((mid + slippage * half) * 100 - 1e-6) / 100
    return np.where(usable, out, np.nan)
