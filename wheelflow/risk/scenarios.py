"""Stress scenarios, each a full revaluation of the whole book (see :mod:`.revalue`).

Standard set: uniform gaps of -10/-20/-30 %, beta-scaled market gaps of -10/-20 %, a +50 %
implied-volatility shock, then the user's ``[risk.scenarios]``. The "every short put assigned
tomorrow" test is a buying-power test, not a price move: every short put turns into stock
bought at its strike, and what matters is the cash left afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from wheelflow.risk.revalue import DAY, Book, FloatArray, base_values, revalue
from wheelflow.strategy.config import ScenarioSpec

SCENARIO_COLUMNS = ("scenario", "kind", "pnl", "pnl_pct", "description")

STANDARD_SCENARIOS: dict[str, ScenarioSpec] = {
    "gap -10%": ScenarioSpec(spot=-0.10),
    "gap -20%": ScenarioSpec(spot=-0.20),
    "gap -30%": ScenarioSpec(spot=-0.30),
    "market -10% (beta)": ScenarioSpec(market=-0.10),
    "market -20% (beta)": ScenarioSpec(market=-0.20),
    "IV +50%": ScenarioSpec(iv=0.50),
}


def scenario_moves(
    spec: ScenarioSpec,
    symbols: np.ndarray,
    beta: Mapping[str, float],
    sector: Mapping[str, str],
) -> FloatArray:
    """Relative spot move per underlying under ``spec`` (floored at -99 %)."""
    moves = np.array(
        [
            spec.symbols.get(
                s,
                spec.sectors.get(
                    sector.get(s, ""), spec.spot + spec.market * float(beta.get(s, 1.0))
                ),
            )
            for s in symbols
        ],
        dtype=np.float64,
    )
    return np.maximum(moves, -0.99)


def describe(spec: ScenarioSpec) -> str:
    parts = []
    if spec.spot:
        parts.append(f"every underlying {spec.spot:+.0%}")
    if spec.market:
        parts.append(f"market {spec.market:+.0%} x beta")
    if spec.iv:
        parts.append(f"IV {spec.iv:+.0%}")
    if spec.sectors:
        parts.append(", ".join(f"{k} {v:+.0%}" for k, v in spec.sectors.items()))
    if spec.symbols:
        parts.append(", ".join(f"{k} {v:+.0%}" for k, v in spec.symbols.items()))
    if spec.days:
        parts.append(f"after {spec.days} day(s)")
    return "; ".join(parts) or "no change"


def run_scenarios(
    book: Book,
    specs: Mapping[str, ScenarioSpec],
    equity: float,
    beta: Mapping[str, float],
    sector: Mapping[str, str],
) -> pd.DataFrame:
    """P&L of every scenario (:data:`SCENARIO_COLUMNS`); scenarios with the same horizon are
    priced together as one array."""
    names = list(specs)
    if not names:
        return pd.DataFrame(columns=list(SCENARIO_COLUMNS))
    moves = np.vstack([scenario_moves(specs[n], book.symbols, beta, sector) for n in names])
    shifts = np.array([specs[n].iv for n in names])
    days = np.array([specs[n].days for n in names])
    pnl = np.empty(len(names))
    for d in np.unique(days):
        rows = days == d
        pnl[rows] = revalue(book, moves[rows], iv_shift=shifts[rows], horizon_years=d * DAY)
    return pd.DataFrame(
        {
            "scenario": names,
            "kind": ["stress"] * len(names),
            "pnl": pnl,
            "pnl_pct": pnl / equity if equity > 0 else np.nan,
            "description": [describe(specs[n]) for n in names],
        }
    )


@dataclass(frozen=True)
class AssignmentTest:
    """Every short put assigned tomorrow at its strike."""

    cash_needed: float  # strike x units over the short puts
    cash_after: float  # account cash once they are all paid for
    stock_received: float  # their stock at today's price
    pnl: float  # stock at market - cash paid - today's value of the puts (a liability)

    @property
    def passed(self) -> bool:
        return self.cash_after >= -1e-6


def all_puts_assigned(book: Book, cash: float) -> AssignmentTest:
    short_put = book.is_option & ~book.is_call & (book.units < 0)
    shares = -book.units[short_put]
    need = float((shares * book.strike[short_put]).sum())
    stock = float((shares * book.spot[book.underlying][short_put]).sum())
    liability = float(base_values(book)[short_put].sum())  # negative: the puts are short
    return AssignmentTest(
        cash_needed=need,
        cash_after=cash - need,
        stock_received=stock,
        pnl=stock - need - liability,
    )


def assignment_row(test: AssignmentTest, equity: float) -> dict[str, object]:
    return {
        "scenario": "every short put assigned",
        "kind": "buying_power",
        "pnl": test.pnl,
        "pnl_pct": test.pnl / equity if equity > 0 else np.nan,
        "description": (
            f"pays ${test.cash_needed:,.0f} for stock worth ${test.stock_received:,.0f}; "
            f"cash after ${test.cash_after:,.0f}"
        ),
    }
