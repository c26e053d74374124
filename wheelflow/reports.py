"""Human-readable renderings of pipeline results (Prefect artifacts, CLI tables)."""

from __future__ import annotations

import pandas as pd

# Gross figures (premium at mid, annualized return) next to the net ones (fill, EV, net return).
TOP_COLUMNS = (
    ("rank", "#", "{}"),
    ("underlying", "Symbol", "{}"),
    ("expiration", "Expiry", "{:%Y-%m-%d}"),
    ("strike", "Strike", "{:g}"),
    ("days_to_expiry", "DTE", "{}"),
    ("premium", "Mid", "{:.2f}"),
    ("fill_price", "Fill", "{:.2f}"),
    ("delta", "Delta", "{:+.2f}"),
    ("iv", "IV", "{:.0%}"),
    ("forecast_vol", "Fcst vol", "{:.0%}"),
    ("annualized_return", "Gross ann.", "{:.1%}"),
    ("net_annualized_return", "Net ann.", "{:.1%}"),
    ("expected_value", "EV $", "{:+.2f}"),
    ("expected_value_per_day", "EV $/day", "{:+.3f}"),
    ("probability_assignment", "P(assign)", "{:.0%}"),
    ("probability_otm", "P(OTM)", "{:.0%}"),
    ("breakeven", "Breakeven", "{:.2f}"),
    ("collateral", "Collateral", "${:,.0f}"),
    ("spread_pct", "Spread", "{:.0%}"),
    ("open_interest", "OI", "{:,}"),
    ("flags", "Flags", "{}"),
)

# The terminal table keeps what a trader decides on (gross: the annualized return at mid; net:
# the fill, the net return, EV) in ~120 columns; the artifact has every column.
CLI_COLUMNS = frozenset(
    {
        "rank",
        "underlying",
        "expiration",
        "strike",
        "days_to_expiry",
        "fill_price",
        "iv",
        "forecast_vol",
        "annualized_return",
        "net_annualized_return",
        "expected_value",
        "probability_assignment",
        "flags",
    }
)
_SHORT_FLAGS = {
    "negative_ev": "EV<0",
    "earnings": "earn",
    "ex_dividend": "ex-div",
    "early_assignment": "early",
}


def _short_flags(flags: str) -> str:
    return " ".join(_SHORT_FLAGS.get(f, f) for f in flags.split(","))


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
            elif col == "flags" and isinstance(value, str):
                value = _short_flags(value)
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
