"""Stages 2 and 3: chains per batch -> chains gate -> IV and greeks -> greeks gate -> store."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from wheelflow.db import transaction, upsert_frame
from wheelflow.market_time import years_to_expiry
from wheelflow.pipeline.gates import fail_stage, record_gate, run_stage_gate
from wheelflow.pipeline.run import RunContext
from wheelflow.pricing import CashDividends, iv_and_greeks, status_names
from wheelflow.providers.base import (
    CHAIN_COLUMNS,
    ChainFetch,
    MarketDataProvider,
    chunked,
    conform,
    has_capability,
    optional_feed,
)
from wheelflow.settings import Settings

logger = logging.getLogger(__name__)


def batches(symbols: Sequence[str], size: int) -> list[list[str]]:
    """Underlyings in chain-fetch batches of ``size`` (one Prefect task each)."""
    return chunked(symbols, size)


def fetch_chain_batch(provider: MarketDataProvider, symbols: Sequence[str]) -> ChainFetch:
    """One provider call for a batch of underlyings (the Prefect task retries it), plus the
    batch's announced cash dividends when the provider has a dividend feed (IV and greeks
    price them)."""
    fetch = provider.option_chains(list(symbols))
    if has_capability(provider, "dividends"):
        dividends, error = optional_feed(provider, "dividends", symbols)
        if error:
            logger.warning("dividend feed unavailable, pricing without it: %s", error)
        fetch.dividends = dividends
    return fetch


def batch_label(symbols: Sequence[str]) -> str:
    return f"{symbols[0]}..{symbols[-1]}({len(symbols)})" if symbols else "empty"


def validate_chains(ctx: RunContext, fetch: ChainFetch, label: str) -> pd.DataFrame:
    """Chains gate: quarantine bad rows, fail the batch if mostly bad; returns good rows."""
    from validations.suites import chains_suite

    chains = conform(fetch.chains, CHAIN_COLUMNS)
    chains["years_to_expiry"] = years_to_expiry(ctx.snapshot_at, chains["expiration"])
    key = chains["occ_symbol"].fillna("").astype(str)
    key = key.where(
        ~key.duplicated(keep="first") & (key != ""), key + "#" + chains.index.astype(str)
    )
    reasons = chains["parse_error"].map(lambda e: f"provider payload: {e}" if e else None)
    gate = run_stage_gate(ctx, "chains", chains, chains_suite(), key, reasons)
    if not gate.passed:
        raise fail_stage(ctx, "chains", label, gate)
    with transaction(ctx.engine) as conn:
        record_gate(conn, ctx, "chains", label, gate)
    return gate.good.drop(columns=["parse_error"])


def compute_greeks(
    chains: pd.DataFrame,
    snapshot_at: dt.datetime,
    risk_free_rate: float,
    exercise: str,
    dividends: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Implied volatility from the mid and the greeks at it (of the ``exercise`` model),
    vectorized over the whole batch. ``dividends`` (DIVIDEND_COLUMNS: symbol, ex_date, amount)
    are the cash dividends each contract's underlying pays before expiry (escrowed model)."""
    out = chains.copy()
    if out.empty:
        for col in ("iv", "delta", "gamma", "theta", "vega", "rho", "iv_status"):
            out[col] = pd.Series(dtype="float64" if col != "iv_status" else object)
        return out
    mid = (out["bid"].to_numpy(float) + out["ask"].to_numpy(float)) / 2.0
    spot = out["underlying_price"].to_numpy(float)
    strike = out["strike"].to_numpy(float)
    t = years_to_expiry(snapshot_at, out["expiration"])
    is_call = (out["right"] == "C").to_numpy()
    # a mid below intrinsic by no more than the half spread is undetermined, not bad data
    half_spread = out["ask"].to_numpy(float) - mid
    result = iv_and_greeks(
        mid,
        spot,
        strike,
        t,
        risk_free_rate,
        0.0,
        is_call,
        exercise=exercise,
        tolerance=half_spread,
        dividends=cash_dividends(out["underlying"], snapshot_at, dividends),
    )
    for col in ("delta", "gamma", "theta", "vega", "rho"):
        out[col] = np.asarray(result[col], dtype=float)
    out["iv"] = np.asarray(result["iv"], dtype=float)
    out["iv_status"] = status_names(result["status"]).astype(str)
    return out


def cash_dividends(
    underlying: pd.Series, snapshot_at: dt.datetime, dividends: pd.DataFrame | None
) -> CashDividends | None:
    """Per-contract dividend schedules from a dividend feed frame (None without dividends)."""
    if dividends is None or dividends.empty:
        return None
    clean = dividends[dividends["parse_error"].isna()] if "parse_error" in dividends else dividends
    amount = pd.to_numeric(clean["amount"], errors="coerce")
    # a dividend goes ex at the open: count from the start of the ex-date, not its close
    ex_years = years_to_expiry(snapshot_at, pd.to_datetime(clean["ex_date"])) - 16.0 / 24 / 365
    keep = np.isfinite(amount.to_numpy(float)) & (ex_years > 0.0)
    if not keep.any():
        return None
    return CashDividends.by_underlying(
        underlying.to_numpy(),
        clean["symbol"].to_numpy()[keep],
        ex_years[keep],
        amount.to_numpy(float)[keep],
    )


def validate_and_store_greeks(ctx: RunContext, frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Greeks gate, then ``option_snapshots`` (good rows only), quarantine and quality result in
    one transaction. Returns the stored rows."""
    from validations.suites import greeks_suite

    if frame.empty and not ctx.quality_gates:
        return frame
    # "undetermined" (quote at or just below intrinsic, within the spread): stored with no IV
    # and no greeks, neither checked by the suite nor quarantined.
    undetermined = (frame["iv_status"] == "undetermined").to_numpy()
    rows = frame[~undetermined]
    gate = None
    if len(rows) or not undetermined.any():
        reasons = rows["iv_status"].map(lambda s: None if s == "ok" else f"iv_status={s}")
        delta = rows["delta"].to_numpy(dtype=float)
        checked = rows.assign(directional_delta=np.where(rows["right"] == "C", delta, -delta))
        gate = run_stage_gate(
            ctx, "greeks", checked, greeks_suite(), rows["occ_symbol"].astype(str), reasons
        )
        if not gate.passed:
            raise fail_stage(ctx, "greeks", label, gate)
        rows = gate.good
    parts = [part for part in (rows, frame[undetermined]) if len(part)]
    good = pd.concat(parts, ignore_index=True) if len(parts) > 1 else (parts or [rows])[0]
    good = good.drop(columns=["years_to_expiry", "directional_delta"], errors="ignore")
    good = good.assign(snapshot_at=ctx.snapshot_at, provider=ctx.provider_name)
    with transaction(ctx.engine) as conn:
        upsert_frame(conn, "option_snapshots", good)
        if gate is not None:
            record_gate(conn, ctx, "greeks", label, gate)
    return good


def exercise_style(provider: MarketDataProvider, settings: Settings) -> str:
    """The exercise style IV is solved for: the provider's, unless settings force one."""
    return provider.exercise_style if settings.exercise_style == "auto" else settings.exercise_style
