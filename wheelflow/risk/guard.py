"""The portfolio-limit check that runs before every opening order (``execute_wheel``, simulate).

:class:`PortfolioGuard` is prepared once per snapshot with the market context (returns, betas,
sectors, clusters); each call reads the account as it stands in the ledger (after the orders
already filled this run) and checks the new contract against the account's limits, exactly as
the pipeline checks candidates. It returns the reason an order must not be sent, or None.
Closing orders (buy to close) reduce risk and are never blocked here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text

from wheelflow.risk.account import (
    account_figures,
    book_frame,
    read_ledger_cash,
    read_open_positions,
)
from wheelflow.risk.limits import candidate_breaches
from wheelflow.risk.market import MarketContext, market_context
from wheelflow.risk.report import AccountRisk, account_risk
from wheelflow.risk.revalue import Book, base_values
from wheelflow.risk.sectors import load_sector_map
from wheelflow.risk.service import no_ledger_figures, read_bars, read_spot
from wheelflow.strategy.config import RiskConfig
from wheelflow.strategy.decisions import Leg


class PortfolioGuard:
    """``guard(account, symbol, right, strike, expiration, contracts, iv)`` -> reason or None."""

    def __init__(
        self,
        engine: Engine,
        config: RiskConfig,
        *,
        screening_cash: float,
        rate: float = 0.04,
    ) -> None:
        self.engine = engine
        self.config = config
        self.screening_cash = screening_cash
        self.rate = rate
        self.sector_map = load_sector_map(config.sector_file)
        self.market: MarketContext | None = None
        self.snapshot_at: dt.datetime | None = None

    def prepare(
        self,
        snapshot_at: dt.datetime,
        symbols: Sequence[str],
        bars: pd.DataFrame | None = None,
        provider_sectors: Mapping[str, str] | None = None,
    ) -> None:
        """Build the market context of ``snapshot_at`` for ``symbols`` (the orders' underlyings)
        and every name held (from ``bars``, else the stored bars)."""
        with self.engine.connect() as conn:
            held = read_open_positions(conn, snapshot_at)["symbol"].astype(str).tolist()
            wanted = sorted({*symbols, *held, self.config.benchmark})
            if bars is None:
                bars = read_bars(conn, snapshot_at, wanted)
        self.market = market_context(
            bars,
            wanted,
            self.sector_map,
            provider_sectors,
            benchmark=self.config.benchmark,
            min_correlation=self.config.cluster_min_correlation,
        )
        self.snapshot_at = snapshot_at

    def account_risk(self, account: str) -> AccountRisk:
        """The account as it stands now (no VaR table: stress, greeks and exposures)."""
        return self._account(account)[0]

    def _account(self, account: str) -> tuple[AccountRisk, pd.Series]:
        if self.market is None or self.snapshot_at is None:
            raise RuntimeError("PortfolioGuard.prepare() must run before a check")
        snapshot_at = self.snapshot_at
        with self.engine.connect() as conn:
            positions = read_open_positions(conn, snapshot_at)
            cash = read_ledger_cash(conn)
            spot = read_spot(conn, snapshot_at)
        mine = positions[positions["account"].astype(str) == account]
        frame = book_frame(mine, spot, snapshot_at, self.market.realized_vol)
        book = Book.from_frame(frame, rate=self.rate)
        values = pd.Series(
            np.where(mine["asset_type"].to_numpy() == "option", base_values(book), 0.0),
            index=mine.index,
        )
        ledger = {a: c for a, c in cash.items() if a == account}
        figures = account_figures(mine, ledger, values, spot, self.screening_cash)
        fig = figures.iloc[0].to_dict() if len(figures) else no_ledger_figures(self.screening_cash)
        fig["account"] = account
        risk = account_risk(account, fig, book, self.market, self.config, with_var=False)
        return risk, spot

    def __call__(self, account: str, symbol: str, leg: Leg) -> str | None:
        """The order guard of the Position Service: opening legs only."""
        if leg.side != "sell_to_open":
            return None
        iv = None
        if self.snapshot_at is not None:
            with self.engine.connect() as conn:
                iv = conn.execute(
                    text(
                        "SELECT iv FROM option_snapshots WHERE snapshot_at = :t AND occ_symbol = :o"
                    ),
                    {"o": leg.occ_symbol, "t": self.snapshot_at},
                ).scalar()
        reason = self.check(
            account,
            symbol,
            leg.right,
            leg.strike,
            leg.expiration,
            leg.quantity,
            None if iv is None else float(iv),
        )
        return None if reason is None else f"portfolio limit: {reason}"

    def check(
        self,
        account: str,
        symbol: str,
        right: str,
        strike: float,
        expiration: dt.date,
        contracts: int,
        iv: float | None = None,
    ) -> str | None:
        """Why selling ``contracts`` of this option in ``account`` would breach a limit."""
        risk, spot = self._account(account)
        assert self.market is not None and self.snapshot_at is not None
        snapshot_at = self.snapshot_at
        underlying_price = float(spot.get(symbol, np.nan))
        if not np.isfinite(underlying_price):
            return None  # no quote: the order checks upstream already refuse it
        vol = (
            iv
            if iv is not None and np.isfinite(iv)
            else float(self.market.realized_vol.get(symbol, np.nan))
        )
        candidate = pd.DataFrame(
            {
                "strategy": ["csp" if right == "P" else "cc"],
                "underlying": [symbol],
                "right": [right],
                "strike": [strike],
                "days_to_expiry": [max((expiration - snapshot_at.date()).days, 0)],
                "iv": [vol if np.isfinite(vol) else 0.3],
                "underlying_price": [underlying_price],
                "quantity": [contracts],
            }
        )
        out = candidate_breaches(candidate, risk, self.market, self.config)
        reason = out["reason"].iloc[0]
        return None if reason is None else str(reason)
