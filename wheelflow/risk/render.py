"""Renderings of a run's risk assessment: a markdown report (Prefect artifact, CLI) and a PNG
chart (the correlation heatmap in cluster order, and each account's scenario P&L as bars)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wheelflow.risk.service import RiskAssessment

MAX_HEATMAP_NAMES = 120  # beyond this the heatmap shows the held names and the largest clusters


def write_risk_chart(assessment: RiskAssessment, path: Path) -> Path:
    """Draw the chart to ``path`` (parents created) and return it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    market = assessment.market
    accounts = list(assessment.accounts.values())
    fig, axes = plt.subplots(
        1, 1 + max(len(accounts), 1), figsize=(6 + 5 * max(len(accounts), 1), 5.5)
    )
    heat = axes[0]
    names = np.array(market.cov_symbols)
    if len(names):
        held = {str(s) for a in accounts for s in a.book.symbols}
        order = market.order
        keep = [i for i in order if names[i] in held] or list(order)
        rest = [i for i in order if i not in set(keep)]
        show = sorted((keep + rest)[:MAX_HEATMAP_NAMES], key=list(order).index)
        corr = market.correlation[np.ix_(show, show)]
        image = heat.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
        labels = [f"{names[i]} {market.cluster.get(names[i], '')}" for i in show]
        if len(show) <= 40:
            heat.set_xticks(range(len(show)), labels, rotation=90, fontsize=6)
            heat.set_yticks(range(len(show)), labels, fontsize=6)
        fig.colorbar(image, ax=heat, fraction=0.046)
        heat.set_title(f"Return correlation, cluster order ({len(show)} of {len(names)})")
    else:
        heat.text(0.5, 0.5, "no price history", ha="center", va="center")
        heat.set_axis_off()
    for ax, risk in zip(axes[1:], accounts, strict=False):
        table = risk.scenarios
        colors = np.where(table["pnl"] < 0, "tab:red", "tab:green")
        ax.barh(table["scenario"], table["pnl"], color=colors)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(f"{risk.account}: scenario P&L (USD), equity ${risk.equity:,.0f}")
        ax.tick_params(axis="y", labelsize=7)
        ax.invert_yaxis()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _usd(value: float) -> str:
    return "" if value != value else f"${value:,.0f}"


def risk_report_markdown(assessment: RiskAssessment) -> str:
    """Per account: figures, dollar greeks, VaR/ES and the scenario table."""
    parts = [f"Benchmark for betas: {assessment.market.benchmark}."]
    for risk in assessment.accounts.values():
        f, g = risk.figures, risk.greeks
        ledger = "ledger" if f.get("has_ledger") else "no ledger: screening portfolio cash"
        parts += [
            f"## Account {risk.account} ({ledger})",
            "",
            "| Equity | Cash | Buying power | Put collateral | Stock at cost | Stock at market |",
            "|---|---|---|---|---|---|",
            f"| {_usd(risk.equity)} | {_usd(f['cash'])} | {_usd(f['buying_power'])} | "
            f"{_usd(f['put_collateral'])} | {_usd(f['stock_at_cost'])} | "
            f"{_usd(f['stock_at_market'])} |",
            "",
            "| Delta $ | Beta-weighted delta $ | Gamma $ per 1% | Theta $ per day "
            "| Vega $ per vol pt |",
            "|---|---|---|---|---|",
            f"| {_usd(g['delta_usd'])} | {_usd(g['beta_weighted_delta_usd'])} | "
            f"{_usd(g['gamma_usd'])} | {_usd(g['theta_usd'])} | {_usd(g['vega_usd'])} |",
            "",
            "| VaR method | Horizon | Level | VaR | ES |",
            "|---|---|---|---|---|",
            *(
                f"| {r.method} | {r.horizon} ({r.horizon_days} d) | {r.level:.0%} | "
                f"{_usd(r.var)} | {_usd(r.es)} |"
                for r in risk.var.itertuples(index=False)
            ),
            "",
            "| Scenario | P&L | % of equity | What |",
            "|---|---|---|---|",
            *(
                f"| {r.scenario} | {_usd(r.pnl)} | {r.pnl_pct:+.1%} | {r.description} |"
                for r in risk.scenarios.itertuples(index=False)
            ),
            "",
        ]
    return "\n".join(parts)
