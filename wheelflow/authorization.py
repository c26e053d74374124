"""Who may see what, in one place: the role split of risk figures.

Roles nest viewer < trader < admin (``wheelflow.security.role_allows``). Holdings, cash and
exposure are trader information; a viewer gets aggregate figures only.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from wheelflow.security import role_allows

HOLDINGS_ROLE = "trader"  # the least role that sees positions, cash and exposure


def sees_holdings(role: str) -> bool:
    return role_allows(role, HOLDINGS_ROLE)


def risk_view(report: dict[str, Any], role: str) -> dict[str, Any]:
    """The latest risk report as ``role`` may see it.

    Traders and admins get it whole. Viewers get whether the portfolio passed and, per check
    name, how many checks ran and how many breached: no subjects (symbols held), metric values,
    limits, messages or details (cash, equity, exposure).
    """
    if sees_holdings(role):
        return report
    checks = report.get("checks", [])
    ran = Counter(c["check_name"] for c in checks)
    breached = Counter(c["check_name"] for c in checks if not c["passed"])
    return {
        "snapshot_at": report.get("snapshot_at"),
        "run_id": report.get("run_id"),
        "passed": report.get("passed"),
        "scope": "aggregate",
        "n_checks": len(checks),
        "n_breaches": sum(breached.values()),
        "checks": [
            {"check_name": name, "checks": ran[name], "breaches": breached[name]}
            for name in sorted(ran)
        ],
    }
