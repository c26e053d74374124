"""Alert rules. Each alert has a ``dedup_key``: the same condition never alerts twice.

- ``new_top_opportunity``: a contract enters the top N (unblocked) of its strategy; keyed by the
  contract, so it alerts once, when it first appears there.
- ``risk_breach``: a failed risk check; keyed by check, subject and trading date.
- ``data_quality``: a gate failed a whole batch; keyed by stage, batch and snapshot.
- ``fetch_failure``: a provider failed for a symbol after retries; keyed by symbol and snapshot.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

import pandas as pd

from wheelflow.market_time import snapshot_date

log = logging.getLogger("wheelflow.alerts")

ALERT_COLUMNS = (
    "dedup_key",
    "created_at",
    "snapshot_at",
    "kind",
    "severity",
    "symbol",
    "title",
    "message",
    "payload",
)


def make_alert(
    key: str,
    snapshot_at: dt.datetime,
    kind: str,
    severity: str,
    symbol: str | None,
    title: str,
    message: str,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "dedup_key": key[:200],
        "created_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "snapshot_at": snapshot_at,
        "kind": kind,
        "severity": severity,
        "symbol": symbol,
        "title": title[:200],
        "message": message,
        "payload": payload,
    }


def opportunity_alerts(
    rankings: pd.DataFrame, snapshot_at: dt.datetime, top_n: int, min_score: float = 0.0
) -> list[dict[str, Any]]:
    if rankings.empty or top_n <= 0:
        return []
    ok = rankings[~rankings["blocked"].astype(bool) & (rankings["score"] >= min_score)]
    out = []
    for strategy, group in ok.groupby("strategy"):
        for row in group.sort_values("rank").head(top_n).itertuples(index=False):
            label = "cash-secured put" if strategy == "csp" else "covered call"
            out.append(
                make_alert(
                    f"top:{strategy}:{row.occ_symbol}",
                    snapshot_at,
                    "new_top_opportunity",
                    "info",
                    str(row.underlying),
                    f"New top {label}: {row.occ_symbol}",
                    f"#{row.rank} {row.underlying} {row.strike:g}{row.right} exp "
                    f"{pd.Timestamp(row.expiration):%Y-%m-%d}: premium ${row.premium:.2f}, "
                    f"{row.annualized_return:.1%} annualized, P(OTM) {row.probability_otm:.0%}",
                    {
                        "strategy": strategy,
                        "rank": int(row.rank),
                        "occ_symbol": row.occ_symbol,
                        "score": float(row.score),
                    },
                )
            )
    return out


def risk_alerts(checks: pd.DataFrame, snapshot_at: dt.datetime) -> list[dict[str, Any]]:
    """One alert per failed check of an account as it stands (scope ``portfolio``), per day.

    A candidate-scope row ("with one more contract") is a hypothetical: it blocks the
    candidate and never alerts."""
    day = snapshot_date(snapshot_at)
    scope = checks["scope"] if "scope" in checks else pd.Series("portfolio", index=checks.index)
    real = checks[~checks["passed"].astype(bool) & (scope == "portfolio")]
    return [
        make_alert(
            f"risk:{row.check_name}:{row.subject}:{day}",
            snapshot_at,
            "risk_breach",
            "warning",
            None,
            f"Risk limit: {row.check_name} ({row.subject})",
            str(row.message),
            {"metric_value": row.metric_value, "limit_value": row.limit_value},
        )
        for row in real.itertuples(index=False)
    ]


def quality_alert(stage: str, batch: str, snapshot_at: dt.datetime, reason: str) -> dict[str, Any]:
    return make_alert(
        f"dq:{stage}:{batch}:{snapshot_at:%Y%m%dT%H%M%S}",
        snapshot_at,
        "data_quality",
        "critical",
        None,
        f"Data-quality gate failed: {stage} ({batch})",
        reason,
        {"stage": stage, "batch": batch},
    )


def fetch_failure_alerts(
    failures: dict[str, str], snapshot_at: dt.datetime
) -> list[dict[str, Any]]:
    return [
        make_alert(
            f"fetch:{symbol}:{snapshot_at:%Y%m%dT%H%M%S}",
            snapshot_at,
            "fetch_failure",
            "warning",
            symbol,
            f"Option chain unavailable: {symbol}",
            reason,
            {"symbol": symbol},
        )
        for symbol, reason in sorted(failures.items())
    ]


def log_alerts(alerts: Iterable[dict[str, Any]]) -> None:
    """The built-in channel: every new alert goes to the log (and so to the Prefect run logs)."""
    levels = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.ERROR}
    for a in alerts:
        log.log(
            levels.get(a["severity"], logging.INFO),
            "[%s] %s: %s",
            a["kind"],
            a["title"],
            a["message"],
        )


_OPS_SEVERITY = {"critical": "critical", "page": "critical", "warning": "warning", "info": "info"}


def operations_alerts(alerts: Iterable[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """Alertmanager's alerts (webhook v4 ``alerts[]``) as wheelflow ``operations`` alerts.

    Keyed by fingerprint, start time and status: a firing alert alerts once, its resolution once.
    """
    out = []
    for a in alerts:
        labels = a.get("labels") or {}
        notes = a.get("annotations") or {}
        name = str(labels.get("alertname", "alert"))
        status = str(a.get("status", "firing"))
        resolved = status == "resolved"
        severity = "info" if resolved else _OPS_SEVERITY.get(str(labels.get("severity")), "warning")
        fingerprint = a.get("fingerprint") or "|".join(
            f"{k}={v}" for k, v in sorted(labels.items())
        )
        summary = str(notes.get("summary") or name)
        out.append(
            make_alert(
                f"ops:{fingerprint}:{a.get('startsAt', '')}:{status}",
                now,
                "operations",
                severity,
                None,
                f"{'Resolved' if resolved else 'Operations'}: {name}: {summary}",
                str(notes.get("description") or summary),
                {"labels": labels, "status": status, "generator_url": a.get("generatorURL")},
            )
        )
    return out


def run_failed_alert(
    run_id: str, attempt: int, snapshot_at: dt.datetime, error: str | None
) -> dict[str, Any]:
    """A pipeline run ended failed: one critical alert per run attempt, naming the cause."""
    return make_alert(
        f"run_failed:{run_id}:{attempt}",
        snapshot_at,
        "pipeline_failed",
        "critical",
        None,
        f"Pipeline run {run_id} failed",
        error or "the run ended failed",
        {"run_id": run_id, "attempt": attempt},
    )


def stalled_run_alerts(
    runs: Iterable[tuple[str, dt.datetime, int]], now: dt.datetime, minutes: int
) -> list[dict[str, Any]]:
    """Runs still ``running`` (run_id, started_at, attempt) ``minutes`` after they started."""
    return [
        make_alert(
            f"run_stalled:{run_id}:{attempt}",
            now,
            "pipeline_stalled",
            "critical",
            None,
            f"Pipeline run {run_id} stalled",
            f"running since {started:%Y-%m-%d %H:%M} UTC "
            f"({(now - started).total_seconds() / 60:.0f} minutes, limit {minutes})",
            {"run_id": run_id, "attempt": attempt},
        )
        for run_id, started, attempt in runs
        if (now - started).total_seconds() >= minutes * 60
    ]
