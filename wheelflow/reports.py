"""Human-readable renderings of pipeline results (Prefect artifacts, CLI tables)."""

from __future__ import annotations

import pandas as pd

TOP_COLUMNS = (
    ("rank", "#", "{}"),
    ("underlying", "Symbol", "{}"),
    ("expiration", "Expiry", "{:%Y-%m-%d}"),
    ("strike", "Strike", "{:g}"),
    ("days_to_expiry", "DTE", "{}"),
    ("premium", "Premium", "{:.2f}"),
    ("delta", "Delta", "{:+.2f}"),
    ("iv", "IV", "{:.0%}"),
    ("annualized_return", "Ann. return", "{:.1%}"),
    ("probability_otm", "P(OTM)", "{:.0%}"),
    ("breakeven", "Breakeven", "{:.2f}"),
    ("collateral", "Collateral", "${:,.0f}"),
    ("spread_pct", "Spread", "{:.0%}"),
    ("open_interest", "OI", "{:,}"),
)

# The terminal table drops what fits in 100 columns least well.
CLI_COLUMNS = frozenset(c for c, _, _ in TOP_COLUMNS) - {"collateral"}


def top_rows(rankings: pd.DataFrame, strategy: str, n: int) -> list[list[str]]:
    """The first ``n`` unblocked candidates of a strategy as formatted cells."""
    if rankings.empty:
        return []
    sel = rankings[(rankings["strategy"] == strategy) & ~rankings["blocked"].astype(bool)]
    rows = []
    for rec in sel.sort_values("rank").head(n).to_dict(orient="records"):
        cells = []
        for col, _, fmt in TOP_COLUMNS:
            value = rec.get(col)
            if col == "expiration":
                value = pd.Timestamp(value)
            cells.append("" if value is None or value != value else fmt.format(value))
        rows.append(cells)
    return rows


def rankings_markdown(rankings: pd.DataFrame, n: int = 15) -> str:
    header = "| " + " | ".join(h for _, h, _ in TOP_COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in TOP_COLUMNS) + "|"
    parts = []
    for strategy, title in (("csp", "Cash-secured puts"), ("cc", "Covered calls")):
        rows = top_rows(rankings, strategy, n)
        parts.append(f"## {title} (top {len(rows)})\n")
        if rows:
            parts.append("\n".join([header, rule, *("| " + " | ".join(r) + " |" for r in rows)]))
        else:
            parts.append("_No candidates passed the screen._")
        blocked = (
            0
            if rankings.empty
            else int((rankings["blocked"].astype(bool) & (rankings["strategy"] == strategy)).sum())
        )
        if blocked:
            parts.append(f"\n{blocked} candidate(s) blocked by the risk check.")
        parts.append("")
    return "\n".join(parts)


def risk_markdown(checks: pd.DataFrame) -> str:
    if checks.empty:
        return "## Risk check\n\nNo checks ran."
    breaches = checks[~checks["passed"].astype(bool)]
    lines = [
        "## Risk check",
        "",
        f"{len(checks)} checks, **{len(breaches)} breach(es)**.",
        "",
        "| Check | Subject | Passed | Value | Limit | Message |",
        "|---|---|---|---|---|---|",
    ]
    ordered = pd.concat([breaches, checks[checks["passed"].astype(bool)]])
    for row in ordered.head(60).itertuples(index=False):
        value = "" if row.metric_value != row.metric_value else f"{row.metric_value:,.4g}"
        limit = "" if row.limit_value != row.limit_value else f"{row.limit_value:,.4g}"
        lines.append(
            f"| {row.check_name} | {row.subject} | {'yes' if row.passed else '**NO**'} | "
            f"{value} | {limit} | {row.message} |"
        )
    return "\n".join(lines)
