"""The data-quality gate splits good rows from quarantined ones and fails mostly-bad batches."""

from __future__ import annotations

import numpy as np
import pandas as pd

from validations.gate import run_gate
from validations.suites import rankings_suite


def _rankings(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "strategy": "csp",
            "rank": np.arange(1, n + 1),
            "occ_symbol": [f"F261218P{i:08d}" for i in range(n)],
            "annualized_return": np.linspace(0.1, 0.5, n),
            "score": 1.0,
            "premium": 0.5,
            "probability_otm": 0.7,
        }
    )


def test_clean_batch_passes_whole() -> None:
    frame = _rankings(20)
    gate = run_gate("rankings", frame, rankings_suite(), row_key=frame["occ_symbol"])
    assert gate.passed and gate.failed_rows == 0 and len(gate.good) == 20
    assert all(e["success"] for e in gate.expectations)


def test_bad_rows_are_quarantined_with_each_reason() -> None:
    frame = _rankings(20)
    frame.loc[3, "annualized_return"] = np.inf
    frame.loc[5, "rank"] = 5  # the rank of row 4 too
    frame.loc[7, "premium"] = -1.0
    gate = run_gate("rankings", frame, rankings_suite(), row_key=frame["occ_symbol"])
    assert gate.passed
    reasons = dict(zip(gate.quarantined["row_key"], gate.quarantined["reasons"], strict=True))
    assert "annualized_return" in reasons["F261218P00000003"]
    assert "column_list=['strategy', 'rank']" in reasons["F261218P00000005"]
    assert "column_list=['strategy', 'rank']" in reasons["F261218P00000004"]
    assert "column='premium'" in reasons["F261218P00000007"]
    assert not set(gate.good["occ_symbol"]) & set(reasons)
    assert gate.quarantined["payload"].iloc[0]["strategy"] == "csp"


def test_extra_reasons_quarantine_rows_too() -> None:
    frame = _rankings(4)
    extra = pd.Series([None, "provider payload: bid 'x'", None, None])
    gate = run_gate(
        "rankings", frame, rankings_suite(), row_key=frame["occ_symbol"], extra_reasons=extra
    )
    assert list(gate.quarantined["reasons"]) == ["provider payload: bid 'x'"]


def test_mostly_bad_batch_fails_and_keeps_nothing() -> None:
    frame = _rankings(10).assign(premium=-1.0)
    gate = run_gate("rankings", frame, rankings_suite(), row_key=frame["occ_symbol"])
    assert not gate.passed and gate.good.empty
    assert "premium" in gate.failure_reason


def test_empty_batch_fails() -> None:
    frame = _rankings(0)
    gate = run_gate("rankings", frame, rankings_suite(), row_key=frame["occ_symbol"])
    assert not gate.passed and gate.failure_reason == "empty batch"
