"""The whole wheel pipeline as a Prefect flow, on SQLite and PostgreSQL.

The synthetic market stands in for the outside world; the faulty providers below fail the way
remote services fail (errors, corrupted payloads), at the provider boundary only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from flows.pipeline import wheel_pipeline
from wheelflow.db import read_frame, table_counts
from wheelflow.errors import DataQualityError
from wheelflow.providers.base import ChainFetch
from wheelflow.providers.synthetic import SyntheticMarket

DAY = dt.date(2026, 11, 24)
SYMBOLS = ["F", "T", "BAC", "INTC", "SOFI", "AAPL", "MSFT"]  # two above $50

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _frame(engine: Engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_frame(conn, sql)


class CorruptingMarket(SyntheticMarket):
    """Serves chains with some corrupted rows (crossed market, negative strike, NaN, bad OCC)."""

    corrupted: dict[str, str]

    def option_chains(self, symbols: Sequence[str]) -> ChainFetch:
        fetch = super().option_chains(symbols)
        chains = fetch.chains.copy()
        rows = chains.index[[3, 10, 20, 30, 40]]
        self.corrupted = {}
        chains.loc[rows[0], "bid"] = chains.loc[rows[0], "ask"] + 0.5  # crossed
        chains.loc[rows[1], "strike"] = -5.0
        chains.loc[rows[2], "bid"] = np.nan
        chains.loc[rows[3], "occ_symbol"] = "NOT-AN-OCC"
        chains.loc[rows[4], "parse_error"] = "bid: 'n/a' is not a number"
        self.corrupted = {str(chains.loc[r, "occ_symbol"]): "" for r in rows}
        return ChainFetch(chains=chains, failures=fetch.failures)


class GarbageMarket(SyntheticMarket):
    """Every chain row is bad."""

    def option_chains(self, symbols: Sequence[str]) -> ChainFetch:
        fetch = super().option_chains(symbols)
        return ChainFetch(chains=fetch.chains.assign(bid=-1.0), failures={})


def test_pipeline_writes_every_stage_and_ranks_both_strategies(engine: Engine) -> None:
    summary = wheel_pipeline(
        provider=SyntheticMarket(as_of=DAY), database_url=_url(engine), symbols=SYMBOLS
    )
    counts = table_counts(engine)
    assert counts["underlying_quotes"] == len(SYMBOLS)
    assert counts["option_snapshots"] == summary["contracts"] > 500
    assert counts["rankings"] == summary["rankings"] > 0
    assert counts["quality_results"] == 4  # quotes, chains, greeks, rankings
    assert counts["risk_checks"] > 0 and counts["alerts"] > 0
    ranked = _frame(engine, "SELECT * FROM rankings")
    assert set(ranked["strategy"]) == {"csp", "cc"}
    # The price filter: no put on an underlying above $50.
    quotes = _frame(engine, "SELECT symbol, last FROM underlying_quotes")
    expensive = set(quotes.loc[quotes["last"] > 50, "symbol"])
    assert expensive and not set(ranked.loc[ranked["strategy"] == "csp", "underlying"]) & expensive
    run = _frame(engine, "SELECT * FROM pipeline_runs").iloc[0]
    assert run["status"] == "completed" and run["n_rankings"] == summary["rankings"]


def test_rerunning_the_same_snapshot_changes_no_row_counts(engine: Engine) -> None:
    market = SyntheticMarket(as_of=DAY)
    wheel_pipeline(provider=market, database_url=_url(engine), symbols=SYMBOLS)
    first = table_counts(engine)
    ranked_first = _frame(engine, "SELECT occ_symbol, strategy, rank, score FROM rankings")
    wheel_pipeline(provider=market, database_url=_url(engine), symbols=SYMBOLS)
    assert table_counts(engine) == first
    ranked_again = _frame(engine, "SELECT occ_symbol, strategy, rank, score FROM rankings")
    key = ["strategy", "rank"]
    pd.testing.assert_frame_equal(
        ranked_first.sort_values(key).reset_index(drop=True),
        ranked_again.sort_values(key).reset_index(drop=True),
    )
    attempts = _frame(engine, "SELECT attempts FROM pipeline_runs")["attempts"]
    assert list(attempts) == [2]


def test_corrupted_chain_rows_are_quarantined_and_never_stored(engine: Engine) -> None:
    market = CorruptingMarket(as_of=DAY)
    wheel_pipeline(provider=market, database_url=_url(engine), symbols=SYMBOLS)
    quarantined = _frame(
        engine, "SELECT row_key, reasons FROM quarantined_rows WHERE stage='chains'"
    )
    assert set(market.corrupted) <= set(quarantined["row_key"].str.split("#").str[0])
    reasons = " | ".join(quarantined["reasons"])
    for expected in (
        "column_A='ask'",
        "column='strike'",
        "column='bid'",
        "column='occ_symbol'",
        "provider payload: bid: 'n/a' is not a number",
    ):
        assert expected in reasons
    stored = set(_frame(engine, "SELECT occ_symbol FROM option_snapshots")["occ_symbol"])
    assert not stored & set(market.corrupted)
    with engine.connect() as conn:
        bad = conn.execute(
            text("SELECT COUNT(*) FROM option_snapshots WHERE bid > ask OR strike <= 0")
        ).scalar_one()
    assert bad == 0


def test_an_all_bad_batch_fails_the_stage_and_writes_nothing(engine: Engine) -> None:
    with pytest.raises(DataQualityError, match="chains"):
        wheel_pipeline(
            provider=GarbageMarket(as_of=DAY), database_url=_url(engine), symbols=SYMBOLS
        )
    counts = table_counts(engine)
    assert counts["option_snapshots"] == 0 and counts["rankings"] == 0
    results = _frame(engine, "SELECT stage, success FROM quality_results")
    assert not results.loc[results["stage"] == "chains", "success"].any()
    alerts = _frame(engine, "SELECT kind, severity FROM alerts")
    assert ((alerts["kind"] == "data_quality") & (alerts["severity"] == "critical")).any()
    run = _frame(engine, "SELECT status, error FROM pipeline_runs").iloc[0]
    assert run["status"] == "failed" and "chains" in run["error"]


def test_unknown_symbol_is_quarantined_and_the_rest_runs(engine: Engine) -> None:
    summary = wheel_pipeline(
        provider=SyntheticMarket(as_of=DAY), database_url=_url(engine), symbols=[*SYMBOLS, "ZZZZ"]
    )
    assert summary["rankings"] > 0
    q = _frame(engine, "SELECT row_key, reasons FROM quarantined_rows WHERE stage='quotes'")
    assert list(q["row_key"]) == ["ZZZZ"] and "no quote" in q["reasons"].iloc[0]


def test_run_publishes_top_opportunities_and_risk_artifacts(sqlite_engine: Engine) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    summary = wheel_pipeline(
        provider=SyntheticMarket(as_of=DAY), database_url=_url(sqlite_engine), symbols=SYMBOLS
    )
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=["top-opportunities", "risk-summary"])
            )
        )
    # The session's Prefect server keeps every test's artifacts: find this run's among them.
    tops = [str(a.data) for a in artifacts if a.key == "top-opportunities"]
    ours = [body for body in tops if f"run {summary['run_id']}" in body]
    assert ours and "Cash-secured puts" in ours[0]
    assert any(
        "collateral_utilization" in str(a.data) for a in artifacts if a.key == "risk-summary"
    )


def test_plain_and_prefect_steps_record_the_same_run(engine: Engine, tmp_path: Path) -> None:
    from wheelflow.db import ensure_schema, make_engine
    from wheelflow.pipeline import STAGE_KEYS, run_pipeline
    from wheelflow.settings import get_settings
    from wheelflow.strategy.config import load_strategy_config

    market = SyntheticMarket(as_of=DAY)
    wheel_pipeline(provider=market, database_url=_url(engine), symbols=SYMBOLS)
    plain_engine = make_engine(f"sqlite:///{tmp_path / 'plain.sqlite'}")
    ensure_schema(plain_engine)
    try:
        run_pipeline(plain_engine, market, load_strategy_config(), get_settings(), symbols=SYMBOLS)
        runs = [_frame(e, "SELECT * FROM pipeline_runs").iloc[0] for e in (engine, plain_engine)]
        rankings = [
            _frame(e, "SELECT strategy, rank, occ_symbol FROM rankings ORDER BY strategy, rank")
            for e in (engine, plain_engine)
        ]
    finally:
        plain_engine.dispose()
    flow_run, plain_run = (_json(r["stage_seconds"]) for r in runs)
    assert set(flow_run) == set(plain_run) == set(STAGE_KEYS)
    assert _json(runs[0]["details"]) == _json(runs[1]["details"])
    assert set(_json(runs[0]["details"])) == {
        "provider_retries",
        "chain_failures",
        "gate_failures",
        "new_alerts",
    }
    for column in ("status", "n_underlyings", "n_contracts", "n_rankings"):
        assert runs[0][column] == runs[1][column], column
    pd.testing.assert_frame_equal(rankings[0], rankings[1])


def _json(value: object) -> dict[str, object]:
    import json

    return json.loads(value) if isinstance(value, str) else dict(value)  # type: ignore[call-overload]
