"""The data-quality gate: run a suite with Great Expectations, split good rows from bad ones.

- Rows failing any row-level expectation go to the quarantine frame, with every reason.
- The stage fails (``GateResult.passed`` is False) when the batch is empty, when a fatal
  batch-level expectation fails, or when more than ``max_bad_fraction`` of the rows are bad.
- Great Expectations is imported lazily, once per process (~3-7 s), and validation runs in two
  passes: a cheap SUMMARY pass, and only when something failed and the batch is not already
  condemned, a COMPLETE pass for the failing row indexes.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from validations.suites import Expect, Suite

log = logging.getLogger(__name__)

ROW_INDEX = "_row"
_lock = threading.Lock()
_context: Any = None


@dataclass
class GateResult:
    stage: str
    suite: str
    good: pd.DataFrame
    quarantined: pd.DataFrame  # row_key, reasons, payload
    evaluated_rows: int
    failed_rows: int
    passed: bool
    expectations: list[dict[str, Any]] = field(default_factory=list)
    failure_reason: str | None = None

    @property
    def bad_fraction(self) -> float:
        return self.failed_rows / self.evaluated_rows if self.evaluated_rows else 1.0


def _gx() -> Any:
    """The process-wide ephemeral GE context with one pandas datasource (lazy, thread-safe)."""
    global _context
    if _context is None:
        import great_expectations as gx

        # GE announces its temporary docs directory at INFO on every context: not news.
        logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)
        ctx = gx.get_context(mode="ephemeral")
        from great_expectations.data_context.types.base import ProgressBarsConfig

        ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        ctx.data_sources.add_pandas("wheelflow")
        _context = ctx
    return _context


def _validate(frame: pd.DataFrame, suite: Suite, result_format: str) -> list[Any]:
    """Validate ``frame`` with a transient suite on a reused dataframe asset.

    ``Batch.validate`` neither registers the suite nor stores the result in the context's
    validation-results store (which serialised every unexpected index: seconds per batch).
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    source = _gx().data_sources.get("wheelflow")
    try:
        asset = source.get_asset(suite.name)
    except LookupError:
        asset = source.add_dataframe_asset(suite.name)
        asset.add_batch_definition_whole_dataframe("all")
    batch = asset.get_batch_definition("all").get_batch(batch_parameters={"dataframe": frame})
    gx_suite = gx.ExpectationSuite(
        name=suite.name,
        expectations=[getattr(gxe, exp.type)(**exp.kwargs) for exp in suite.expectations],
    )
    fmt: dict[str, Any] = {"result_format": result_format}
    if result_format == "COMPLETE":
        fmt["unexpected_index_column_names"] = [ROW_INDEX]
        fmt["return_unexpected_index_query"] = False
    return list(batch.validate(gx_suite, result_format=fmt).results)


def _match(results: list[Any], suite: Suite) -> list[tuple[Expect, Any]]:
    """Pair each GE result with our expectation (GE may reorder results)."""
    remaining = list(results)
    pairs = []
    for exp in suite.expectations:
        snake = "".join("_" + c.lower() if c.isupper() else c for c in exp.type).lstrip("_")
        for i, res in enumerate(remaining):
            cfg = res.expectation_config
            if cfg.type == snake and all(cfg.kwargs.get(k) == v for k, v in exp.kwargs.items()):
                pairs.append((exp, remaining.pop(i)))
                break
    return pairs


def _json_safe(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int | bool):
        return value
    return str(value)


def run_gate(
    stage: str,
    frame: pd.DataFrame,
    suite: Suite,
    *,
    row_key: pd.Series,
    max_bad_fraction: float = 0.5,
    extra_reasons: pd.Series | None = None,
) -> GateResult:
    """Validate ``frame`` against ``suite``.

    ``row_key`` (aligned with ``frame``) names each row in the quarantine. ``extra_reasons``
    (aligned, None where clean) adds reasons found outside GE (e.g. a provider parse error).
    """
    n = len(frame)
    data = frame.reset_index(drop=True).copy()
    keys = row_key.reset_index(drop=True).astype(str)
    data[ROW_INDEX] = np.arange(n)
    reasons: dict[int, list[str]] = {}
    if extra_reasons is not None:
        for i, why in enumerate(extra_reasons.reset_index(drop=True)):
            if isinstance(why, str) and why:  # None/NaN (pandas 3 maps None to NaN) = clean
                reasons.setdefault(i, []).append(why)

    summaries: list[dict[str, Any]] = []
    failure: str | None = None
    if n == 0:
        failure = "empty batch"
    else:
        with _lock:
            results = _validate(data, suite, "SUMMARY")
            pairs = _match(results, suite)
            worst = max((r.result.get("unexpected_count") or 0 for _, r in pairs), default=0)
            any_row_failure = any(not r.success and e.row_level for e, r in pairs)
            if any_row_failure and worst / n <= max_bad_fraction:
                pairs = _match(_validate(data, suite, "COMPLETE"), suite)
        for exp, res in pairs:
            count = int(res.result.get("unexpected_count") or 0)
            summaries.append(
                {
                    "expectation": exp.describe(),
                    "success": bool(res.success),
                    "unexpected_count": count,
                }
            )
            if res.success:
                continue
            if not exp.row_level:
                if exp.fatal:
                    failure = f"batch expectation failed: {exp.describe()}"
                continue
            for item in res.result.get("unexpected_index_list") or []:
                idx = int(item[ROW_INDEX]) if isinstance(item, dict) else int(item)
                reasons.setdefault(idx, []).append(exp.describe())
            if count == worst and worst / n > max_bad_fraction and failure is None:
                failure = f"{count} of {n} rows fail {exp.describe()}"

    bad_idx = np.array(sorted(reasons), dtype=int)
    failed = len(bad_idx)
    if failure is None and n and failed / n > max_bad_fraction:
        failure = f"{failed} of {n} rows are bad (more than {max_bad_fraction:.0%})"
    bad_mask = np.zeros(n, dtype=bool)
    bad_mask[bad_idx] = True
    original = frame.reset_index(drop=True)
    quarantined = pd.DataFrame(
        {
            "row_key": keys[bad_mask].to_numpy(),
            "reasons": ["; ".join(reasons[i]) for i in bad_idx],
            "payload": [
                {k: _json_safe(v) for k, v in row.items()}
                for row in original.iloc[bad_idx].to_dict(orient="records")
            ],
        }
    )
    passed = failure is None
    if not passed:
        log.warning("data-quality gate %s failed: %s", stage, failure)
    return GateResult(
        stage=stage,
        suite=suite.name,
        good=original[~bad_mask].reset_index(drop=True) if passed else original.iloc[0:0],
        quarantined=quarantined,
        evaluated_rows=n,
        failed_rows=failed if n else 0,
        passed=passed,
        expectations=summaries,
        failure_reason=failure,
    )
