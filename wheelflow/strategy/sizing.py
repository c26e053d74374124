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
