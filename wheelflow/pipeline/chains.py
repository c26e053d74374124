"""Stages 2 and 3: chains per batch -> chains gate -> IV and greeks -> greeks gate -> store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from wheelflow.db import transaction, upsert_frame
from wheelflow.market_time import years_to_expiry
from wheelflow.pipeline.gates import fail_stage, record_gate, run_stage_gate
from wheelflow.pipeline.run import RunContext
from wheelflow.pricing import greeks as bsm_greeks
from wheelflow.pricing import implied_volatility, iv_and_greeks, status_names
from wheelflow.providers.base import (
    CHAIN_COLUMNS,
    ChainFetch,
    MarketDataProvider,
    chunked,
    conform,
)
from wheelflow.settings import Settings
from wheelflow.strategy.events import dividend_pv


def batches(symbols: Sequence[str], size: int) -> list[list[str]]:
    """Underlyings in chain-fetch batches of ``size`` (one Prefect task each)."""
    return chunked(symbols, size)


def fetch_chain_batch(provider: MarketDataProvider, symbols: Sequence[str]) -> ChainFetch:
    """One provider call for a batch of underlyings (the Prefect task retries it)."""
    return provider.option_chains(list(symbols))


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
    """Implied volatility from the mid and BSM greeks at it, vectorized over the whole batch.

    For American exercise the IV inverts the American price; greeks are then the BSM greeks at
    that volatility (the usual screener convention). ``dividends`` (DIVIDEND_COLUMNS) going ex
    before a contract's expiry enter as the escrowed-dividend model: the spot less their present
    value (Hull ch. 15), so IV and greeks do not mistake a dividend for volatility or skew.
    """
    out = chains.copy()
    if out.empty:
        for col in ("iv", "delta", "gamma", "theta", "vega", "rho", "iv_status"):
            out[col] = pd.Series(dtype="float64" if col != "iv_status" else object)
        return out
    mid = (out["bid"].to_numpy(float) + out["ask"].to_numpy(float)) / 2.0
    spot = out["underlying_price"].to_numpy(float)
    if dividends is not None and len(dividends):
        spot = spot - dividend_pv(out, snapshot_at.date(), dividends, risk_free_rate=risk_free_rate)
    strike = out["strike"].to_numpy(float)
    t = years_to_expiry(snapshot_at, out["expiration"])
    is_call = (out["right"] == "C").to_numpy()
    # a mid below intrinsic by no more than the half spread is undetermined, not bad data
    half_spread = out["ask"].to_numpy(float) - mid
    if exercise == "american":
        sigma, status = implied_volatility(
            mid,
            spot,
            strike,
            t,
            risk_free_rate,
            0.0,
            is_call,
            exercise="american",
            tolerance=half_spread,
            return_status=True,
        )
        g = bsm_greeks(spot, strike, t, risk_free_rate, 0.0, sigma, is_call)
        result: dict[str, Any] = {"iv": sigma, "status": status, **g}
    else:
        result = iv_and_greeks(
            mid, spot, strike, t, risk_free_rate, 0.0, is_call, tolerance=half_spread
        )
    for col in ("delta", "gamma", "theta", "vega", "rho"):
        out[col] = np.asarray(result[col], dtype=float)
    out["iv"] = np.asarray(result["iv"], dtype=float)
    out["iv_status"] = status_names(result["status"]).astype(str)
    return out


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
