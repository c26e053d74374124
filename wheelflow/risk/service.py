"""The risk service: every account assessed from the ledger, candidates checked per account,
reports stored. The pipeline's risk stage, ``execute_wheel`` and ``GET /risk`` call these."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from models.tables import PriceBar
from wheelflow.db import execute, read_frame, upsert_frame
from wheelflow.risk.account import (
    account_figures,
    book_frame,
    read_ledger_cash,
    read_open_positions,
)
from wheelflow.risk.checks import RISK_COLUMNS, PortfolioState, check_risk
from wheelflow.risk.limits import candidate_breaches, limit_values, portfolio_checks
from wheelflow.risk.market import MarketContext, market_context
from wheelflow.risk.report import AccountRisk, account_risk
from wheelflow.risk.revalue import Book, base_values
from wheelflow.risk.sectors import load_sector_map
from wheelflow.strategy.config import RiskConfig

HISTORY_DAYS = 400  # calendar days of stored bars read for returns (about a year of sessions)
CHECK_COLUMNS = ("account", "scope", *RISK_COLUMNS)


@dataclass
class RiskAssessment:
    """Every account's report at one snapshot, and the market context they share."""

    snapshot_at: dt.datetime
    market: MarketContext
    accounts: dict[str, AccountRisk]

    def checks(self, config: RiskConfig) -> pd.DataFrame:
        """Portfolio-scope limit rows of every account (:data:`CHECK_COLUMNS`)."""
        rows = [r for risk in self.accounts.values() for r in portfolio_checks(risk, config)]
        return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))


def read_spot(conn: Connection, snapshot_at: dt.datetime) -> pd.Series:
    """Last price per symbol: its latest quote at or before the snapshot."""
    frame = read_frame(
        conn,
        "SELECT q.symbol, q.last FROM underlying_quotes q JOIN (SELECT symbol, "
        "MAX(snapshot_at) AS s FROM underlying_quotes WHERE snapshot_at <= :t GROUP BY symbol) "
        "m ON m.symbol = q.symbol AND m.s = q.snapshot_at",
        {"t": snapshot_at},
    )
    return pd.Series(frame["last"].astype(float).to_numpy(), index=frame["symbol"].astype(str))


def read_bars(
    conn: Connection,
    snapshot_at: dt.datetime,
    symbols: Sequence[str] | None = None,
    days: int = HISTORY_DAYS,
) -> pd.DataFrame:
    """Daily closes of ``symbols`` (all when None) over the ``days`` before the snapshot."""
    bars = PriceBar.__table__
    query = select(bars.c.symbol, bars.c.bar_date, bars.c.close).where(
        bars.c.bar_date >= snapshot_at.date() - dt.timedelta(days=days),
        bars.c.bar_date <= snapshot_at.date(),
    )
    if symbols is not None:
        query = query.where(bars.c.symbol.in_(sorted({str(s) for s in symbols})))
    result = conn.execute(query)
    return pd.DataFrame(result.fetchall(), columns=["symbol", "bar_date", "close"])


def assess(
    conn: Connection,
    snapshot_at: dt.datetime,
    config: RiskConfig,
    *,
    screening_cash: float,
    rate: float = 0.04,
    extra_symbols: Sequence[str] = (),
    provider_sectors: Mapping[str, str] | None = None,
    accounts: Sequence[str] = (),
) -> RiskAssessment:
    """Assess every account of the ledger (plus ``accounts``, which may have no ledger yet).

    ``extra_symbols`` (the candidates' underlyings) join the market context so that their
    betas, sectors and clusters are known when candidates are checked."""
    positions = read_open_positions(conn, snapshot_at)
    ledger_cash = read_ledger_cash(conn)
    spot = read_spot(conn, snapshot_at)
    symbols = sorted(set(positions["symbol"].astype(str)) | {str(s) for s in extra_symbols})
    market = market_context(
        read_bars(conn, snapshot_at, [*symbols, config.benchmark]),
        [*symbols, config.benchmark],
        load_sector_map(config.sector_file),
        provider_sectors,
        benchmark=config.benchmark,
        min_correlation=config.cluster_min_correlation,
    )
    frames = {
        str(a): book_frame(p, spot, snapshot_at, market.realized_vol)
        for a, p in positions.groupby("account", sort=True)
    }
    books = {a: Book.from_frame(f, rate=rate) for a, f in frames.items()}
    option_values = pd.Series(0.0, index=positions.index)
    for a, p in positions.groupby("account", sort=True):
        option_values.loc[p.index] = np.where(
            p["asset_type"].to_numpy() == "option", base_values(books[str(a)]), 0.0
        )
    names = sorted(set(ledger_cash) | set(frames) | set(accounts))
    figures = account_figures(
        positions, ledger_cash, option_values, spot, screening_cash
    ).set_index("account")
    reports = {}
    for name in names:
        fig = (
            figures.loc[name].to_dict()
            if name in figures.index
            else no_ledger_figures(screening_cash)
        )
        reports[name] = account_risk(
            name, {"account": name, **fig}, books.get(name, Book.empty()), market, config
        )
    return RiskAssessment(snapshot_at, market, reports)


def no_ledger_figures(cash: float) -> dict[str, Any]:
    return {
        "has_ledger": False,
        "cash": cash,
        "put_collateral": 0.0,
        "short_puts": 0.0,
        "short_calls": 0.0,
        "stock_at_cost": 0.0,
        "stock_at_market": 0.0,
        "option_value": 0.0,
        "equity": cash,
        "buying_power": cash,
    }


def _state(risk: AccountRisk) -> PortfolioState:
    """Today's checks (collateral, free cash, concentration, coverage) see the same account."""
    book = risk.book
    stock = ~book.is_option
    shares = pd.Series(book.units[stock], index=book.symbols[book.underlying][stock])
    exposure = risk.exposure.set_index("symbol")["notional"]
    fig = risk.figures
    return PortfolioState(
        cash=float(fig["cash"]),
        committed_collateral=float(fig["put_collateral"]),
        stock_value=float(fig["stock_at_market"]),
        exposure_by_symbol={str(k): float(v) for k, v in exposure.items()},
        shares_by_symbol={str(k): int(v) for k, v in shares.groupby(level=0).sum().items()},
    )


def check_candidates(
    rankings: pd.DataFrame, assessment: RiskAssessment, config: RiskConfig, accounts: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rankings with ``blocked``/``blocked_reason``, check rows of every scope).

    Each candidate is checked against each of ``accounts``: it is blocked when no account can
    take it, and the reason names every account's breach. Portfolio-scope rows come first."""
    portfolio = assessment.checks(config)
    ranked = rankings.copy()
    frames: list[pd.DataFrame] = []
    reasons: list[pd.Series] = []
    for name in accounts:
        risk = assessment.accounts[name]
        today, rows = check_risk(rankings, _state(risk), config)
        own = rows["subject"] == "portfolio"
        rows = rows.assign(account=name, scope=np.where(own, "portfolio", "candidate"))
        rows["subject"] = np.where(own, name, name + ":" + rows["subject"].astype(str))
        frames.append(rows)
        if ranked.empty:
            continue
        limits = candidate_breaches(rankings, risk, assessment.market, config)
        reasons.append(_join(name + ": ", today["blocked_reason"], limits["reason"]))
        frames.append(_limit_rows(name, rankings, limits, config))
    if len(ranked) and reasons:
        table = pd.concat(reasons, axis=1)
        blocked = table.notna().all(axis=1)
        ranked["blocked"] = blocked.astype(bool)
        joined = table.iloc[:, 0]
        for i in range(1, table.shape[1]):
            joined = joined.str.cat(table.iloc[:, i], sep=" | ")
        ranked["blocked_reason"] = joined.where(blocked, None)
    checks = pd.concat([portfolio, *frames], ignore_index=True)
    checks = checks.drop_duplicates(subset=["check_name", "subject"], keep="first")
    checks["passed"] = checks["passed"].astype(bool)
    return ranked, checks[list(CHECK_COLUMNS)]


def _join(prefix: str, *parts: pd.Series) -> pd.Series:
    """Reasons joined with "; " per row, prefixed; None where there is none."""
    text = parts[0].fillna("")
    for part in parts[1:]:
        more = part.fillna("")
        text = text.str.cat(more, sep="; ").str.strip("; ")
    return (prefix + text).astype(object).where(text != "", None)


def _limit_rows(
    account: str, rankings: pd.DataFrame, limits: pd.DataFrame, config: RiskConfig
) -> pd.DataFrame:
    """Per underlying and limit, the row of its least risky candidate (scope ``candidate``)."""
    frame = limits.drop(columns="reason").assign(underlying=rankings["underlying"].astype(str))
    best = frame.groupby("underlying").min().reset_index()
    long = best.melt(id_vars="underlying", var_name="limit", value_name="metric_value")
    limit = long["limit"].map(limit_values(config)).astype(float)
    value = long["metric_value"].astype(float)
    return pd.DataFrame(
        {
            "account": account,
            "scope": "candidate",
            "check_name": "candidate_" + long["limit"],
            "subject": account + ":" + long["underlying"],
            "passed": ~(value > limit + 1e-12),
            "metric_value": value,
            "limit_value": limit,
            "message": long["underlying"]
            + ": "
            + long["limit"].str.replace("_", " ")
            + " with one more contract "
            + value.map("{:.1%}".format)
            + " (least risky candidate)",
            "details": None,
        }
    )


def store_reports(conn: Connection, assessment: RiskAssessment, run_id: str) -> None:
    """Replace this run's ``risk_reports`` and ``risk_scenarios`` rows (idempotent)."""
    execute(conn, "DELETE FROM risk_scenarios WHERE run_id = :r", {"r": run_id})
    execute(conn, "DELETE FROM risk_reports WHERE run_id = :r", {"r": run_id})
    reports = [
        report_row(r, run_id, assessment.snapshot_at, assessment.market.benchmark)
        for r in assessment.accounts.values()
    ]
    if reports:
        upsert_frame(conn, "risk_reports", pd.DataFrame(reports))
    scenarios = [
        r.scenarios.assign(account=r.account, run_id=run_id, snapshot_at=assessment.snapshot_at)
        for r in assessment.accounts.values()
    ]
    if scenarios:
        upsert_frame(conn, "risk_scenarios", pd.concat(scenarios, ignore_index=True))


def report_row(
    risk: AccountRisk, run_id: str, snapshot_at: dt.datetime, benchmark: str
) -> dict[str, Any]:
    fig = risk.figures
    var = {}
    for level in (0.95, 0.99):
        for horizon in ("1d", "to_expiry"):
            value, method = risk.var_of(level, horizon)
            hit = risk.var[
                (risk.var["method"] == method)
                & (risk.var["horizon"] == horizon)
                & np.isclose(risk.var["level"], level)
            ]
            tag = f"{int(level * 100)}_{horizon}"
            var[f"var_{tag}"] = None if not np.isfinite(value) else value
            var[f"es_{tag}"] = float(hit["es"].iloc[0]) if len(hit) else None
    stress = risk.scenarios[risk.scenarios["kind"] == "stress"]
    worst = stress.loc[stress["pnl"].idxmin()] if len(stress) else None
    return {
        "run_id": run_id,
        "account": risk.account,
        "snapshot_at": snapshot_at,
        "has_ledger": bool(fig["has_ledger"]),
        "cash": float(fig["cash"]),
        "equity": risk.equity,
        "buying_power": float(fig["buying_power"]),
        "put_collateral": float(fig["put_collateral"]),
        "stock_at_cost": float(fig["stock_at_cost"]),
        "stock_at_market": float(fig["stock_at_market"]),
        "option_value": float(fig["option_value"]),
        **{k: float(v) for k, v in risk.greeks.items()},
        "benchmark": benchmark,
        **var,
        "var_method": risk.var_of(0.99, "1d")[1],
        "worst_scenario": None if worst is None else str(worst["scenario"]),
        "worst_scenario_pnl": None if worst is None else float(worst["pnl"]),
        "details": {
            "var": risk.var.to_dict(orient="records"),
            "sectors": {str(k): float(v) for k, v in risk.by("sector").items()},
            "clusters": {str(k): float(v) for k, v in risk.by("cluster").items()},
            "exposure": risk.exposure.to_dict(orient="records"),
        },
    }
