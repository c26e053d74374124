"""Provider faults end to end: the Prefect flow ``wheel_pipeline`` over 100 symbols against a
fake Tradier server, on SQLite and PostgreSQL.

The fake server speaks Tradier's documented JSON (quotes, expirations, chains, history) with the
synthetic market's numbers behind it, and fails calls at random (timeouts, 500, 429 with
``Retry-After: 0``), always for one symbol, or corrupts one batch's contracts. The flow, its
tasks and both databases are real.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from flows.pipeline import wheel_pipeline
from tests.tradier_fake import FakeTradier, Faults
from wheelflow.errors import DataQualityError, ProviderError
from wheelflow.providers.synthetic import SyntheticMarket
from wheelflow.providers.tradier import TradierMarketData
from wheelflow.settings import Settings, load_settings

TOKEN = "tradier-live-token-DO-NOT-LEAK-7f3a"
N_SYMBOLS = 100
MAX_DAYS = 14  # two or three weekly expirations per symbol keep the run quick
BATCH = 10  # chain batch size: ten batches (tasks) per run

pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(seed=11, universe_size=N_SYMBOLS)


@pytest.fixture(scope="module")
def fake_tradier(market: SyntheticMarket) -> FakeTradier:
    return FakeTradier(market, max_days=MAX_DAYS)


@pytest.fixture(autouse=True)
def _flow_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The flow's own settings: small batches, no demo positions."""
    monkeypatch.setenv("WHEELFLOW_CHAIN_BATCH_SIZE", str(BATCH))
    monkeypatch.setenv("WHEELFLOW_SEED_DEMO_POSITIONS", "false")
    yield


def fast_retry_settings() -> Settings:
    """Many HTTP retries with tiny backoff: a 30% failure rate must never exhaust them."""
    return load_settings(
        tradier_token=TOKEN,
        provider_retries=10,
        provider_retry_delay_seconds=0.001,
        provider_retry_max_delay_seconds=0.01,
        provider_requests_per_second=1000.0,
        provider_max_concurrency=16,
        provider_max_days_to_expiry=MAX_DAYS,
    )


def tradier_behind(faults: Faults, market: SyntheticMarket) -> TradierMarketData:
    return TradierMarketData.from_settings(
        fast_retry_settings(), httpx.MockTransport(faults), clock=market.snapshot_time
    )


def run_flow(engine: Engine, market: SyntheticMarket, faults: Faults, tmp_path: Path) -> Any:
    """``wheel_pipeline`` over every symbol, the price window wide open; returns its summary."""
    strategy = tmp_path / "strategy.toml"
    strategy.write_text("[screening]\nmin_underlying_price = 0.01\nmax_underlying_price = 1e6\n")
    return wheel_pipeline(
        provider=tradier_behind(faults, market),
        database_url=engine.url.render_as_string(hide_password=False),
        strategy_file=str(strategy),
        symbols=market.symbols,
    )


def stored_underlyings(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {
            r[0] for r in conn.execute(text("SELECT DISTINCT underlying FROM option_snapshots"))
        }


def the_run(engine: Engine) -> tuple[str, str | None, dict[str, Any]]:
    """(status, error, details) of the only recorded run."""
    with engine.connect() as conn:
        status, error, details = conn.execute(
            text("SELECT status, error, details FROM pipeline_runs")
        ).one()
    return status, error, json.loads(details) if isinstance(details, str) else details


def test_thirty_percent_random_faults_still_store_every_symbols_chain(
    engine: Engine, market: SyntheticMarket, fake_tradier: FakeTradier, tmp_path: Path
) -> None:
    faults = Faults(fake_tradier, rate=0.3, broken=None)
    summary = run_flow(engine, market, faults, tmp_path)
    assert summary["status"] == "completed"
    assert stored_underlyings(engine) == set(market.symbols)
    status, error, details = the_run(engine)
    assert (status, error) == ("completed", None)
    assert details["chain_failures"] == {} and details["gate_failures"] == []
    assert details["provider_retries"] > 0
    assert faults.injected > 0.2 * faults.calls


def test_a_permanently_failing_symbol_is_recorded_and_alerted_while_others_complete(
    engine: Engine, market: SyntheticMarket, fake_tradier: FakeTradier, tmp_path: Path
) -> None:
    broken = market.symbols[7]
    summary = run_flow(engine, market, Faults(fake_tradier, rate=0.3, broken=broken), tmp_path)
    assert list(summary["fetch_failures"]) == [broken]
    assert stored_underlyings(engine) == set(market.symbols) - {broken}
    status, _, details = the_run(engine)
    assert status == "completed"
    assert list(details["chain_failures"]) == [broken]
    assert "HTTP 502" in details["chain_failures"][broken]
    with engine.connect() as conn:
        alert = conn.execute(
            text("SELECT kind, message FROM alerts WHERE symbol = :s"), {"s": broken}
        ).one()
    assert alert.kind == "fetch_failure"
    assert "HTTP 502" in alert.message


def test_a_run_whose_every_chain_fetch_fails_fails_naming_the_provider_error(
    engine: Engine, market: SyntheticMarket, fake_tradier: FakeTradier, tmp_path: Path
) -> None:
    faults = Faults(fake_tradier, rate=0.0, broken=None, chains_down=True)
    with pytest.raises(ProviderError, match="HTTP 503") as raised:
        run_flow(engine, market, faults, tmp_path)
    assert "options service unavailable" in str(raised.value)
    assert "empty batch" not in str(raised.value)
    status, error, details = the_run(engine)
    assert status == "failed"
    assert error is not None and "HTTP 503" in error and "empty batch" not in error
    assert set(details["chain_failures"]) == set(market.symbols)
    assert details["gate_failures"] == []
    with engine.connect() as conn:
        alerted = conn.execute(
            text("SELECT COUNT(DISTINCT symbol) FROM alerts WHERE kind = 'fetch_failure'")
        ).scalar_one()
    assert alerted == N_SYMBOLS


def test_a_batch_refused_by_the_chains_gate_fails_the_run_while_other_batches_are_stored(
    engine: Engine, market: SyntheticMarket, fake_tradier: FakeTradier, tmp_path: Path
) -> None:
    first_batch = sorted(market.symbols)[:BATCH]  # chain batches follow the sorted symbols
    original = dict(fake_tradier.chains)
    for key, records in original.items():
        if key[0] in first_batch:  # crossed markets: every contract of the batch is bad
            fake_tradier.chains[key] = [{**r, "bid": float(r["ask"]) + 1.0} for r in records]
    try:
        with pytest.raises(DataQualityError, match="chains"):
            run_flow(engine, market, Faults(fake_tradier, rate=0.0, broken=None), tmp_path)
    finally:
        fake_tradier.chains.update(original)
    assert stored_underlyings(engine) == set(market.symbols) - set(first_batch)
    status, error, details = the_run(engine)
    assert status == "failed" and error is not None
    assert f"{first_batch[0]}..{first_batch[-1]}" in error
    assert len(details["gate_failures"]) == 1 and details["chain_failures"] == {}
    with engine.connect() as conn:
        quarantined = conn.execute(
            text("SELECT COUNT(*) FROM quarantined_rows WHERE stage = 'chains'")
        ).scalar_one()
        rankings = conn.execute(text("SELECT COUNT(*) FROM rankings")).scalar_one()
    assert quarantined > 0 and rankings > 0


def test_provider_token_never_reaches_logs_run_records_or_alerts(
    sqlite_engine: Engine,
    market: SyntheticMarket,
    fake_tradier: FakeTradier,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    broken = market.symbols[3]
    run_flow(sqlite_engine, market, Faults(fake_tradier, rate=0.1, broken=broken), tmp_path)
    assert TOKEN not in caplog.text
    with sqlite_engine.connect() as conn:
        for table in ("pipeline_runs", "alerts", "quarantined_rows", "quality_results"):
            rows = conn.execute(text(f"SELECT * FROM {table}")).fetchall()
            assert TOKEN not in repr(rows), table
        leaked = conn.execute(
            text("SELECT message FROM alerts WHERE symbol = :s"), {"s": broken}
        ).scalar_one()
    assert "***" in leaked


def test_malformed_contract_is_quarantined_with_the_raw_field_named(
    sqlite_engine: Engine, market: SyntheticMarket, fake_tradier: FakeTradier, tmp_path: Path
) -> None:
    key = next(iter(fake_tradier.chains))
    original = fake_tradier.chains[key]
    broken = {**original[0], "bid": "N/A"}
    fake_tradier.chains[key] = [broken, *original[1:]]
    try:
        summary = run_flow(sqlite_engine, market, Faults(fake_tradier, 0.0, None), tmp_path)
    finally:
        fake_tradier.chains[key] = original
    assert summary["status"] == "completed"
    with sqlite_engine.connect() as conn:
        reasons = conn.execute(
            text("SELECT reasons FROM quarantined_rows WHERE stage = 'chains' AND row_key = :k"),
            {"k": broken["symbol"]},
        ).scalar_one()
    assert "tradier.bid: 'N/A' is not a number" in reasons
