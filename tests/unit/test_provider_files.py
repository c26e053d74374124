"""Replaying recorded chain snapshots from CSV and Parquet files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from tests.provider_fakes import FIXTURES
from wheelflow.errors import ProviderError
from wheelflow.providers.base import CHAIN_COLUMNS, MarketDataProvider
from wheelflow.providers.files import FileChains

REPLAY = FIXTURES / "files_replay"


def test_latest_recorded_snapshot_is_replayed_by_default() -> None:
    provider = FileChains(REPLAY)
    assert isinstance(provider, MarketDataProvider)
    assert provider.snapshot_time() == dt.datetime(2026, 11, 25, 18, 0)
    assert len(provider.snapshots) == 2
    fetch = provider.option_chains(["AAPL", "MSFT"])
    assert list(fetch.chains.columns) == list(CHAIN_COLUMNS)
    assert len(fetch.chains) == 4
    assert fetch.failures == {}


def test_a_chosen_snapshot_is_replayed() -> None:
    provider = FileChains(REPLAY, snapshot="2026-11-24T21:00:00")
    chain = provider.option_chain("AAPL")
    assert chain["underlying_price"].unique().tolist() == [207.12]
    assert provider.snapshot_time() == dt.datetime(2026, 11, 24, 21, 0)


def test_unrecorded_snapshot_is_a_clear_error() -> None:
    with pytest.raises(ProviderError, match="not recorded"):
        FileChains(REPLAY, snapshot="2026-01-02T15:00:00")


def test_unparseable_value_keeps_the_row_and_names_the_column() -> None:
    chain = FileChains(REPLAY).option_chain("AAPL").set_index("occ_symbol")
    assert chain.loc["AAPL261219P00190000", "parse_error"] == "files.bid: 'abc' is not a number"
    assert chain.loc["AAPL261219P00200000", "strike"] == 200.0


def test_symbol_missing_from_the_recording_is_reported() -> None:
    fetch = FileChains(REPLAY).option_chains(["AAPL", "TSLA"])
    assert set(fetch.failures) == {"TSLA"}


def test_quotes_and_bars_come_from_the_recording() -> None:
    provider = FileChains(REPLAY)
    quotes = provider.quotes(["AAPL", "MSFT"]).set_index("symbol")
    assert quotes.loc["MSFT", "last"] == 421.5
    bars = provider.price_history(["AAPL"], dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert bars["close"].tolist() == [207.5, 207.12]
    assert provider.expirations("AAPL") == [dt.date(2026, 12, 19)]


def test_contract_terms_without_occ_symbol_build_the_symbol() -> None:
    provider = FileChains(FIXTURES / "files_terms_only.csv")
    chain = provider.option_chain("SPY")
    assert chain["occ_symbol"].tolist()[:2] == ["SPY261219P00590000", "SPY261219C00610000"]
    assert chain["parse_error"].tolist()[2] == (
        "files.right: 'X' is not put/call; files: contract terms incomplete"
    )
    assert provider.snapshot_time() == dt.datetime(2026, 11, 25, 18, 0)


def test_parquet_files_replay_like_csv(tmp_path: Path) -> None:
    table = pd.read_csv(REPLAY / "chains_2026-11-24_25.csv")
    table.to_parquet(tmp_path / "chains.parquet")
    provider = FileChains(tmp_path)
    assert len(provider.option_chains(["AAPL", "MSFT"]).chains) == 4
    assert provider.snapshot_time() == dt.datetime(2026, 11, 25, 18, 0)


def test_missing_columns_name_the_file_and_columns() -> None:
    with pytest.raises(ProviderError, match=r"files_missing_columns.csv lacks columns ask"):
        FileChains(FIXTURES / "files_missing_columns.csv")


def test_missing_path_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="WHEELFLOW_FILES_PATH"):
        FileChains(tmp_path / "nowhere")


def test_a_recorded_snapshot_replays_through_the_pipeline(sqlite_engine: Engine) -> None:
    from wheelflow.pipeline import run_pipeline
    from wheelflow.settings import load_settings
    from wheelflow.strategy.config import parse_strategy_config

    provider = FileChains(REPLAY)
    config = parse_strategy_config({"screening": {"max_underlying_price": 1000.0}})
    settings = load_settings(seed_demo_positions=False)
    result = run_pipeline(sqlite_engine, provider, config, settings, symbols=["AAPL", "MSFT"])
    assert result.snapshot_at == dt.datetime(2026, 11, 25, 18, 0)
    with sqlite_engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM option_snapshots")).scalar_one()
        quarantined = conn.execute(
            text("SELECT reasons FROM quarantined_rows WHERE stage = 'chains'")
        ).scalar_one()
    assert stored == 3
    assert "files.bid: 'abc' is not a number" in quarantined
