"""Prefect artifacts: what an operator sees on the run page."""

from __future__ import annotations

import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from wheelflow.reports import rankings_markdown, risk_markdown


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts(run_id: str, rankings: pd.DataFrame, checks: pd.DataFrame) -> None:
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
