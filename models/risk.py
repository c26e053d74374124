"""Tables of the risk service: one report per account and run, one row per scenario.

Money columns are USD; ``*_pct`` columns are shares of the account's equity. Timestamps are
naive UTC. Written by the pipeline's risk stage (``wheelflow.risk.service.store_reports``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.tables import Base


class RiskReport(Base):
    """An account's risk figures at one pipeline run."""

    __tablename__ = "risk_reports"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    snapshot_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    has_ledger: Mapped[bool] = mapped_column(Boolean)  # False: the screening portfolio's cash
    cash: Mapped[float] = mapped_column(Float)
    equity: Mapped[float] = mapped_column(Float)
    buying_power: Mapped[float] = mapped_column(Float)  # cash - short put collateral
    put_collateral: Mapped[float] = mapped_column(Float)
    stock_at_cost: Mapped[float] = mapped_column(Float)
    stock_at_market: Mapped[float] = mapped_column(Float)
    option_value: Mapped[float] = mapped_column(Float)  # model value, negative for shorts
    delta_usd: Mapped[float] = mapped_column(Float)  # stock-equivalent dollars
    gamma_usd: Mapped[float] = mapped_column(Float)  # change of delta_usd per 1 % move
    theta_usd: Mapped[float] = mapped_column(Float)  # per calendar day
    vega_usd: Mapped[float] = mapped_column(Float)  # per 1 vol point
    beta_weighted_delta_usd: Mapped[float] = mapped_column(Float)
    benchmark: Mapped[str] = mapped_column(String(16))
    var_95_1d: Mapped[float | None] = mapped_column(Float)
    es_95_1d: Mapped[float | None] = mapped_column(Float)
    var_99_1d: Mapped[float | None] = mapped_column(Float)
    es_99_1d: Mapped[float | None] = mapped_column(Float)
    var_95_to_expiry: Mapped[float | None] = mapped_column(Float)
    es_95_to_expiry: Mapped[float | None] = mapped_column(Float)
    var_99_to_expiry: Mapped[float | None] = mapped_column(Float)
    es_99_to_expiry: Mapped[float | None] = mapped_column(Float)
    var_method: Mapped[str] = mapped_column(String(16))  # monte_carlo|historical|none
    worst_scenario: Mapped[str | None] = mapped_column(String(64))
    worst_scenario_pnl: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # VaR table, exposures


class RiskScenario(Base):
    """The P&L of one stress scenario for one account at one run (full revaluation)."""

    __tablename__ = "risk_scenarios"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(32), primary_key=True)
    scenario: Mapped[str] = mapped_column(String(64), primary_key=True)
    snapshot_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # stress|buying_power
    pnl: Mapped[float] = mapped_column(Float)
    pnl_pct: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)


__all__ = ["RiskReport", "RiskScenario"]
