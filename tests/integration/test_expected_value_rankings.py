"""Rankings valued by expected value in the pipeline, stored and read back (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Engine

from wheelflow.db import read_frame
from wheelflow.pipeline import run_pipeline
from wheelflow.providers.synthetic import SyntheticMarket
from wheelflow.settings import load_settings
from wheelflow.strategy.config import parse_strategy_config

DAY = dt.date(2026, 12, 1)
SYMBOLS = ["F", "T", "SNAP", "NIO", "HOOD", "MARA", "AAL", "BAC", "PFE"]


def _rankings(engine: Engine, **strategy: object) -> pd.DataFrame:
    settings = load_settings(database_url=engine.url.render_as_string(hide_password=False))
    run_pipeline(
        engine,
        SyntheticMarket(as_of=DAY),
        parse_strategy_config(dict(strategy)),
        settings,
        symbols=SYMBOLS,
    )
    with engine.connect() as conn:
        return read_frame(conn, "SELECT * FROM rankings ORDER BY strategy, rank")


def test_rankings_are_ordered_by_stored_expected_value_with_flags_where_negative(
    engine: Engine,
) -> None:
    ranked = _rankings(engine)
    for column in ("expected_value", "forecast_vol", "fill_price", "net_annualized_return"):
        assert ranked[column].notna().all(), column
    for _, group in ranked.groupby("strategy"):
        assert group.sort_values("rank")["expected_value"].is_monotonic_decreasing
    negative = ranked["expected_value"] < 0
    assert ranked.loc[negative, "flags"].str.contains("negative_ev").all()
    top = ranked[(ranked["strategy"] == "csp") & (ranked["rank"] <= 10)]
    # Where the forecast is below the implied volatility the top rows earn a positive EV.
    edge = top["forecast_vol"] < top["iv"]
    assert edge.any() and (top.loc[edge, "expected_value"] > 0).all()
    # Net never above gross: slippage and fees only take.
    assert (ranked["net_annualized_return"] <= ranked["annualized_return"] + 1e-12).all()


def test_earnings_exclusion_removes_every_contract_that_spans_an_earnings_date(
    engine: Engine,
) -> None:
    flagged = _rankings(engine, expected_value={"earnings": "flag"})
    spans = flagged["spans_earnings"].astype(bool)
    assert spans.any()
    assert flagged.loc[spans, "flags"].str.contains("earnings").all()
    excluded = _rankings(engine, expected_value={"earnings": "exclude"})
    assert not excluded["spans_earnings"].astype(bool).any()
    assert len(excluded) > 0


def test_dividend_payers_carry_the_dividends_present_value(engine: Engine) -> None:
    ranked = _rankings(engine)
    payers = ranked[ranked["spans_ex_dividend"].astype(bool)]
    assert len(payers) and (payers["dividend_pv"] > 0).all()
    assert set(payers["underlying"]) <= {"F", "T", "BAC", "PFE"}  # the synthetic payers here


class GarbledDividends(SyntheticMarket):
    """A dividend feed with one unreadable amount (as a provider payload might have)."""

    def dividends(self, symbols: Sequence[str]) -> pd.DataFrame:
        feed = super().dividends(symbols)
        bad = feed["symbol"] == "F"
        feed.loc[bad, "amount"] = float("nan")
        feed.loc[bad, "parse_error"] = "tradier.cash_amount: 'n/a' is not a number"
        return feed


def test_an_unreadable_dividend_is_quarantined_and_not_used(engine: Engine) -> None:
    settings = load_settings(database_url=engine.url.render_as_string(hide_password=False))
    run_pipeline(
        engine, GarbledDividends(as_of=DAY), parse_strategy_config({}), settings, symbols=SYMBOLS
    )
    with engine.connect() as conn:
        quarantined = read_frame(
            conn, "SELECT row_key, reasons FROM quarantined_rows WHERE stage = 'events'"
        )
        ranked = read_frame(conn, "SELECT underlying, spans_ex_dividend FROM rankings")
    assert quarantined["row_key"].tolist() == ["dividends:F"]
    assert "'n/a' is not a number" in quarantined["reasons"].iloc[0]
    assert not ranked.loc[ranked["underlying"] == "F", "spans_ex_dividend"].astype(bool).any()
