"""The read side of the risk service: the latest run's report per account (``GET /risk``).

``full=True`` (roles that see holdings, see ``wheelflow.authorization``): every figure in USD,
exposure per sector, cluster and underlying (holdings) and the scenario table. Otherwise
aggregate figures only: VaR/ES and scenario P&L as shares of equity, with no cash, equity,
exposure or symbols.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from models.risk import RiskReport, RiskScenario

_VAR_COLUMNS = tuple(
    f"{m}_{lvl}_{h}" for lvl in ("95", "99") for h in ("1d", "to_expiry") for m in ("var", "es")
)


def latest_reports(conn: Connection, *, full: bool) -> list[dict[str, Any]]:
    """Every account's report of the latest run that stored one, with its scenarios."""
    r, s = RiskReport.__table__, RiskScenario.__table__
    latest = conn.execute(select(func.max(r.c.snapshot_at))).scalar_one_or_none()
    if latest is None:
        return []
    reports = conn.execute(
        select(r).where(r.c.snapshot_at == latest).order_by(r.c.account)
    ).mappings()
    out = []
    for row in reports:
        report = dict(row)
        details = report.pop("details") or {}
        scenarios = [
            dict(x)
            for x in conn.execute(
                select(s.c.scenario, s.c.kind, s.c.pnl, s.c.pnl_pct, s.c.description)
                .where(s.c.run_id == report["run_id"], s.c.account == report["account"])
                .order_by(s.c.pnl)
            ).mappings()
        ]
        if full:
            report |= {
                "var": details.get("var", []),
                "sectors": details.get("sectors", {}),
                "clusters": details.get("clusters", {}),
                "holdings": details.get("exposure", []),
                "scenarios": scenarios,
            }
            out.append(report)
        else:
            out.append(_aggregate(report, scenarios))
    return out


def _aggregate(report: dict[str, Any], scenarios: list[dict[str, Any]]) -> dict[str, Any]:
    equity = float(report["equity"]) or float("nan")
    share = {
        f"{c}_pct": None if report[c] is None else float(report[c]) / equity for c in _VAR_COLUMNS
    }
    worst = report["worst_scenario_pnl"]
    return {
        "account": report["account"],
        "run_id": report["run_id"],
        "snapshot_at": report["snapshot_at"],
        "scope": "aggregate",
        "benchmark": report["benchmark"],
        "var_method": report["var_method"],
        **share,
        "worst_scenario": report["worst_scenario"],
        "worst_scenario_pct": None if worst is None else float(worst) / equity,
        "scenarios": [
            {"scenario": x["scenario"], "kind": x["kind"], "pnl_pct": x["pnl_pct"]}
            for x in scenarios
        ],
    }
