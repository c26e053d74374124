"""The read side of the risk service: the latest run's report per account (``GET /risk``).

Viewers see aggregate figures only (equity, cash, buying power, dollar greeks, VaR/ES,
exposure per sector and cluster, the scenario table); holdings (exposure per underlying)
are included only when the caller may see positions (``holdings=True``, role trader).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from models.risk import RiskReport, RiskScenario


def latest_reports(conn: Connection, *, holdings: bool) -> list[dict[str, Any]]:
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
        scenarios = conn.execute(
            select(s.c.scenario, s.c.kind, s.c.pnl, s.c.pnl_pct, s.c.description)
            .where(s.c.run_id == report["run_id"], s.c.account == report["account"])
            .order_by(s.c.pnl)
        ).mappings()
        report["var"] = details.get("var", [])
        report["sectors"] = details.get("sectors", {})
        report["clusters"] = details.get("clusters", {})
        if holdings:
            report["holdings"] = details.get("exposure", [])
        report["scenarios"] = [dict(x) for x in scenarios]
        out.append(report)
    return out
