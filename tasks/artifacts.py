"""Prefect artifacts: what an operator sees on the run page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect import task
from prefect.artifacts import (
    create_image_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE

from wheelflow.pipeline.decide import risk_report_paths
from wheelflow.reports import rankings_markdown, risk_markdown
from wheelflow.settings import get_settings


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts(
    run_id: str, rankings: pd.DataFrame, checks: pd.DataFrame, data_dir: Path | None = None
) -> None:
    """Rankings and risk check tables, and the run's risk report and chart when written."""
    create_markdown_artifact(
        key="top-opportunities",
        markdown=f"# Top wheel opportunities, run {run_id}\n\n" + rankings_markdown(rankings),
        description="Top cash-secured puts and covered calls of the latest run",
    )
    create_markdown_artifact(
        key="risk-summary",
        markdown=f"# Risk summary, run {run_id}\n\n" + risk_markdown(checks),
        description="Portfolio risk checks and breaches of the latest run",
    )
    markdown, chart = risk_report_paths(data_dir or get_settings().data_dir, run_id)
    if markdown.exists():
        create_markdown_artifact(
            key="risk-report",
            markdown=f"# Portfolio risk, run {run_id}\n\n"
            + markdown.read_text(encoding="utf-8")
            + (f"\n\nChart: `{chart}`" if chart.exists() else ""),
            description="Per account: equity, dollar greeks, VaR/ES and the stress scenarios",
        )
    if chart.exists():
        create_image_artifact(
            image_url=chart.as_uri(),
            key="risk-chart",
            description="Correlation heatmap (cluster order) and scenario P&L per account",
        )


@task(name="publish-gate-artifacts", cache_policy=NO_CACHE)
def publish_gate_artifacts(run_id: str, report: dict[str, list[dict[str, object]]]) -> None:
    """One table artifact per gate stage (``gate-chains``, ``gate-greeks``, ...): each
    expectation with the rows checked, the rows refused and sample reasons."""
    for stage, rows in report.items():
        refused = sum(r["rows_refused"] for r in rows if isinstance(r["rows_refused"], int))
        create_table_artifact(
            key=f"gate-{stage}".replace("_", "-").lower(),
            table=rows,
            description=f"Data-quality gate `{stage}` of run {run_id}: {refused} row(s) refused",
        )
