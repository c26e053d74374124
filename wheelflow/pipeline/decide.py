"""Stages 4 to 6: rank CSP and CC -> rankings gate -> risk check -> alerts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from wheelflow.alerts.rules import (
    fetch_failure_alerts,
    opportunity_alerts,
    risk_alerts,
)
from wheelflow.alerts.store import store_new_alerts
from wheelflow.db import execute, transaction, upsert_frame
from wheelflow.pipeline.gates import fail_stage, record_gate, run_stage_gate
from wheelflow.pipeline.run import RunContext
from wheelflow.strategy.screening import rank_candidates
from wheelflow.strategy.valuation import MarketContext

if TYPE_CHECKING:
    from wheelflow.risk.service import RiskAssessment


def rank_opportunities(
    ctx: RunContext,
    chains: pd.DataFrame,
    cc_cost_basis: dict[str, float],
    csp_symbols: Sequence[str] | None = None,
    market: MarketContext | None = None,
) -> pd.DataFrame:
    """CSP over the eligible underlyings, CC over the long-stock ones, valued with ``market``
    (forecasts, dividends, earnings); rankings gate applied."""
    from validations.suites import rankings_suite

    puts_universe = (
        chains if csp_symbols is None else chains[chains["underlying"].isin(list(csp_symbols))]
    )
    csp = rank_candidates(
        puts_universe,
        "csp",
        ctx.config.screening,
        ctx.snapshot_at,
        risk_free_rate=ctx.settings.risk_free_rate,
        strategy_config=ctx.config,
        context=market,
    )
    cc = rank_candidates(
        chains,
        "cc",
        ctx.config.screening,
        ctx.snapshot_at,
        risk_free_rate=ctx.settings.risk_free_rate,
        cost_basis=cc_cost_basis,
        strategy_config=ctx.config,
        context=market,
    )
    ranked = (
        pd.concat([f for f in (csp, cc) if len(f)], ignore_index=True)
        if len(csp) or len(cc)
        else csp
    )
    if ranked.empty:
        return ranked
    gate = run_stage_gate(
        ctx,
        "rankings",
        ranked,
        rankings_suite(),
        ranked["strategy"] + ":" + ranked["occ_symbol"].astype(str),
    )
    if not gate.passed:
        raise fail_stage(ctx, "rankings", "all", gate)
    with transaction(ctx.engine) as conn:
        record_gate(conn, ctx, "rankings", "all", gate)
    good = gate.good
    # Re-number ranks after any quarantine so they stay 1..N per strategy.
    good["rank"] = good.groupby("strategy").cumcount() + 1
    return good


def apply_risk_checks(
    ctx: RunContext, rankings: pd.DataFrame, quotes: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assess every account from the ledger and risk-check the candidates per account; write
    ``risk_checks``, ``risk_reports``, ``risk_scenarios`` and the (blocked-flagged) ``rankings``
    of this snapshot in one transaction, replacing any earlier result for the snapshot.

    ``quotes`` are already stored (``underlying_quotes``), which is where the prices come from.
    The report (markdown) and chart (PNG) of the run go to ``<data_dir>/reports/``."""
    from wheelflow.risk.service import assess, check_candidates, store_reports

    del quotes  # read back from underlying_quotes with every other input
    risk = ctx.config.risk
    underlyings = [] if rankings.empty else sorted(rankings["underlying"].astype(str).unique())
    with ctx.engine.connect() as conn:
        assessment = assess(
            conn,
            ctx.snapshot_at,
            risk,
            screening_cash=ctx.settings.account_cash,
            rate=ctx.settings.risk_free_rate,
            extra_symbols=underlyings,
            accounts=[ctx.config.wheel.account],
        )
    ranked, checks = check_candidates(rankings, assessment, risk, list(assessment.accounts))
    with transaction(ctx.engine) as conn:
        # The snapshot's rankings are replaced whole: a re-run can only shrink or reorder them.
        execute(conn, "DELETE FROM rankings WHERE snapshot_at = :s", {"s": ctx.snapshot_at})
        execute(conn, "DELETE FROM risk_checks WHERE snapshot_at = :s", {"s": ctx.snapshot_at})
        if len(ranked):
            upsert_frame(
                conn, "rankings", ranked.assign(snapshot_at=ctx.snapshot_at, run_id=ctx.run_id)
            )
        upsert_frame(
            conn, "risk_checks", checks.assign(snapshot_at=ctx.snapshot_at, run_id=ctx.run_id)
        )
        store_reports(conn, assessment, ctx.run_id)
    write_risk_report(ctx, assessment)
    return ranked, checks


def risk_report_paths(data_dir: Path, run_id: str) -> tuple[Path, Path]:
    """Where a run's risk report (markdown) and chart (PNG) are written."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in run_id)
    folder = data_dir / "reports"
    return folder / f"risk-{safe}.md", folder / f"risk-{safe}.png"


def write_risk_report(ctx: RunContext, assessment: RiskAssessment) -> None:
    from wheelflow.risk.render import risk_report_markdown, write_risk_chart

    if not ctx.settings.risk_report_files:
        return
    markdown, chart = risk_report_paths(ctx.settings.data_dir, ctx.run_id)
    markdown.parent.mkdir(parents=True, exist_ok=True)
    markdown.write_text(risk_report_markdown(assessment), encoding="utf-8")
    write_risk_chart(assessment, chart)


def raise_alerts(
    ctx: RunContext,
    rankings: pd.DataFrame,
    checks: pd.DataFrame,
    fetch_failures: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Write new alerts (de-duplicated by key) and log them; returns the ones that were new."""
    candidates = (
        opportunity_alerts(
            rankings,
            ctx.snapshot_at,
            ctx.config.alerts.top_opportunities,
            ctx.config.alerts.min_score_for_alert,
        )
        + risk_alerts(checks, ctx.snapshot_at)
        + fetch_failure_alerts(fetch_failures or {}, ctx.snapshot_at)
    )
    return store_new_alerts(ctx.engine, candidates)
