"""Data-quality gates of the stages: run a suite, record its result and quarantine."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from models.tables import utcnow
from wheelflow.alerts.rules import quality_alert
from wheelflow.alerts.store import announce, store_alerts
from wheelflow.db import transaction, upsert_frame
from wheelflow.errors import DataQualityError
from wheelflow.pipeline.run import MAX_BAD_FRACTION, RunContext


def record_gate(conn: Any, ctx: RunContext, stage: str, batch: str, gate: Any) -> None:
    """Write a gate's quality result and its quarantined rows (inside the caller's transaction)."""
    now = utcnow()
    upsert_frame(
        conn,
        "quality_results",
        pd.DataFrame(
            [
                {
                    "snapshot_at": ctx.snapshot_at,
                    "stage": stage,
                    "batch": batch,
                    "run_id": ctx.run_id,
                    "suite": gate.suite,
                    "success": gate.passed and gate.failed_rows == 0,
                    "evaluated_rows": gate.evaluated_rows,
                    "failed_rows": gate.failed_rows,
                    "bad_fraction": round(gate.bad_fraction, 6),
                    "expectations": gate.expectations
                    + ([{"failure": gate.failure_reason}] if gate.failure_reason else []),
                    "created_at": now,
                }
            ]
        ),
    )
    quarantine(conn, ctx, stage, gate.quarantined, now)


def quarantine(conn: Any, ctx: RunContext, stage: str, rows: pd.DataFrame, now: Any = None) -> None:
    """Store ``rows`` (row_key, reasons, payload) in ``quarantined_rows`` for ``stage``."""
    if not len(rows):
        return
    q = rows.copy()
    q["row_key"] = q["row_key"].astype(str).str.slice(0, 128)
    q["snapshot_at"] = ctx.snapshot_at
    q["stage"] = stage
    q["run_id"] = ctx.run_id
    q["created_at"] = now or utcnow()
    upsert_frame(conn, "quarantined_rows", q)


def fail_stage(ctx: RunContext, stage: str, batch: str, gate: Any) -> DataQualityError:
    """Record a failed gate (quality result + critical alert), nothing else; return the error."""
    alert = quality_alert(stage, batch, ctx.snapshot_at, gate.failure_reason or "failed")
    with transaction(ctx.engine) as conn:
        record_gate(conn, ctx, stage, batch, gate)
        fresh = store_alerts(conn, [alert])
    announce(ctx.engine, fresh)
    return DataQualityError(
        f"data-quality gate '{stage}' refused batch {batch}: {gate.failure_reason}",
        stage=stage,
        bad_fraction=gate.bad_fraction,
    )


def run_stage_gate(
    ctx: RunContext,
    stage: str,
    frame: pd.DataFrame,
    suite: Any,
    row_key: pd.Series,
    extra_reasons: pd.Series | None = None,
) -> Any:
    from validations.gate import GateResult, run_gate

    if not ctx.quality_gates:
        # Trusted in-process data (the synthetic market in simulations): no GE run.
        return GateResult(
            stage,
            suite.name,
            frame.reset_index(drop=True),
            pd.DataFrame(columns=["row_key", "reasons", "payload"]),
            len(frame),
            0,
            len(frame) > 0,
            failure_reason=None if len(frame) else "empty batch",
        )
    gate = run_gate(
        stage,
        frame,
        suite,
        row_key=row_key,
        max_bad_fraction=MAX_BAD_FRACTION,
        extra_reasons=extra_reasons,
    )
    if not gate.passed and len(frame):
        quarantine_refused_batch(gate, frame, row_key)
    return gate


def quarantine_refused_batch(gate: Any, frame: pd.DataFrame, row_key: pd.Series) -> None:
    """A refused batch stores none of its rows, so every row goes to quarantine: the reasons
    the gate found for it, else the batch's refusal (the gate skips per-row detail once a batch
    is condemned)."""
    keys = row_key.astype(str).reset_index(drop=True)
    found = dict(
        zip(gate.quarantined["row_key"].astype(str), gate.quarantined["reasons"], strict=True)
    )
    refused = f"batch refused: {gate.failure_reason}"
    payload = json.loads(frame.reset_index(drop=True).to_json(orient="records", date_format="iso"))
    gate.quarantined = pd.DataFrame(
        {"row_key": keys, "reasons": keys.map(found).fillna(refused), "payload": payload}
    )


def gate_report(engine: Any, run_id: str, samples: int = 3) -> dict[str, list[dict[str, Any]]]:
    """Every gate result of a run, per stage: one row per batch and expectation with the rows
    checked, the rows refused and a few sample reasons of the stage's quarantined rows."""
    from wheelflow.db import read_frame

    with engine.connect() as conn:
        results = read_frame(
            conn,
            "SELECT stage, batch, evaluated_rows, failed_rows, success, expectations "
            "FROM quality_results WHERE run_id = :r ORDER BY stage, batch",
            {"r": run_id},
        )
        reasons = read_frame(
            conn,
            "SELECT stage, reasons FROM quarantined_rows WHERE run_id = :r ORDER BY row_key",
            {"r": run_id},
        )
    sample = {
        stage: "; ".join(list(dict.fromkeys(group["reasons"].astype(str)))[:samples])
        for stage, group in reasons.groupby("stage")
    }
    report: dict[str, list[dict[str, Any]]] = {}
    for row in results.to_dict(orient="records"):
        expectations = row["expectations"]
        if isinstance(expectations, str):
            expectations = json.loads(expectations)
        for exp in expectations or []:
            if "failure" in exp:
                entry = {"expectation": "batch refused", "success": False, "refused": "-"}
                entry["reason"] = exp["failure"]
            else:
                entry = {
                    "expectation": exp.get("expectation"),
                    "success": bool(exp.get("success")),
                    "refused": int(exp.get("unexpected_count") or 0),
                    "reason": "",
                }
            report.setdefault(str(row["stage"]), []).append(
                {
                    "batch": row["batch"],
                    "expectation": entry["expectation"],
                    "rows_checked": int(row["evaluated_rows"]),
                    "rows_refused": entry["refused"],
                    "passed": entry["success"],
                    "sample_reasons": entry["reason"] or sample.get(str(row["stage"]), ""),
                }
            )
    return report
