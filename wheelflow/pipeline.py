"""The wheel pipeline's stages as plain functions (no Prefect here).

Each stage computes over whole batches, passes its output through a data-quality gate and
writes its tables in one transaction. ``tasks/`` wraps each stage as a Prefect task and
``flows/`` orders them; ``run_pipeline`` chains them directly (simulations, scripts).

Stages: ingest underlyings (watchlist -> quotes -> price filter) -> fetch chains (per batch of
symbols) -> validate chains -> IV and greeks -> validate greeks and store -> rank CSP and CC ->
validate rankings -> risk check (blocks candidates) -> alerts.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, text, update

from models.tables import PipelineRun, utcnow
from wheelflow.alerts.rules import (
    fetch_failure_alerts,
    log_alerts,
    opportunity_alerts,
    quality_alert,
    risk_alerts,
)
from wheelflow.alerts.store import store_new_alerts
from wheelflow.db import execute, read_frame, transaction, upsert_frame
from wheelflow.errors import DataQualityError
from wheelflow.market_time import years_to_expiry
from wheelflow.pricing import greeks as bsm_greeks
from wheelflow.pricing import implied_volatility, iv_and_greeks, status_names
from wheelflow.providers.base import CHAIN_COLUMNS, ChainFetch, MarketDataProvider, conform
from wheelflow.risk.checks import check_risk, portfolio_state
from wheelflow.settings import Settings
from wheelflow.strategy.config import StrategyConfig
from wheelflow.strategy.screening import rank_candidates

log = logging.getLogger(__name__)

FLOW_NAME = "wheel_pipeline"
DEMO_ACCOUNT = "demo"
MAX_QUOTE_AGE_SECONDS = 36 * 3600.0  # a close snapshot read the next morning is still fresh
MAX_BAD_FRACTION = 0.5


@dataclass
class RunContext:
    """What every stage needs to know about the run it belongs to."""

    engine: Engine
    settings: Settings
    config: StrategyConfig
    snapshot_at: dt.datetime
    provider_name: str
    quality_gates: bool = True

    @property
    def run_id(self) -> str:
        return run_id_for(self.snapshot_at)


def run_id_for(snapshot_at: dt.datetime) -> str:
    """Runs are keyed by their snapshot: re-running a snapshot re-uses (and rewrites) its id."""
    return f"{snapshot_at:%Y%m%dT%H%M%SZ}"


@dataclass
class IngestResult:
    quotes: pd.DataFrame
    csp_symbols: list[str]  # priced inside the window: eligible for cash-secured puts
    cc_cost_basis: dict[str, float]  # long stock held (>= 100 shares): eligible for covered calls
    quarantined: int = 0

    @property
    def chain_symbols(self) -> list[str]:
        return sorted(set(self.csp_symbols) | set(self.cc_cost_basis))


@dataclass
class StageOutcome:
    rows: int
    quarantined: int
    passed: bool
    reason: str | None = None


@dataclass
class PipelineResult:
    run_id: str
    snapshot_at: dt.datetime
    status: str
    rankings: pd.DataFrame
    risk_checks: pd.DataFrame
    alerts: list[dict[str, Any]]
    counts: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- run bookkeeping


def start_run(ctx: RunContext, prefect_flow_run_id: str | None = None) -> None:
    """Record the run as running (a re-run of the same snapshot counts another attempt)."""
    now = utcnow()
    with transaction(ctx.engine) as conn:
        prior = conn.execute(
            text("SELECT attempts FROM pipeline_runs WHERE run_id = :r"), {"r": ctx.run_id}
        ).scalar()
        frame = pd.DataFrame(
            [
                {
                    "run_id": ctx.run_id,
                    "flow_name": FLOW_NAME,
                    "snapshot_at": ctx.snapshot_at,
                    "status": "running",
                    "provider": ctx.provider_name,
                    "started_at": now,
                    "finished_at": None,
                    "attempts": int(prior or 0) + 1,
                    "prefect_flow_run_id": prefect_flow_run_id,
                    "error": None,
                }
            ]
        )
        upsert_frame(conn, "pipeline_runs", frame)


def finish_run(
    ctx: RunContext,
    status: str,
    *,
    counts: dict[str, int] | None = None,
    stage_seconds: dict[str, float] | None = None,
    details: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Close the run's record: status, counts, per-stage seconds, retries and failures."""
    counts = counts or {}
    values = {
        "status": status,
        "finished_at": utcnow(),
        "n_underlyings": counts.get("underlyings"),
        "n_contracts": counts.get("contracts"),
        "n_rankings": counts.get("rankings"),
        "stage_seconds": {k: round(v, 3) for k, v in (stage_seconds or {}).items()},
        "details": details or {},
        "error": error,
    }
    with transaction(ctx.engine) as conn:
        conn.execute(update(PipelineRun).where(PipelineRun.run_id == ctx.run_id).values(**values))


# --------------------------------------------------------------------------- gates and writes


def _record_gate(conn: Any, ctx: RunContext, stage: str, batch: str, gate: Any) -> None:
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
    if len(gate.quarantined):
        q = gate.quarantined.copy()
        q["row_key"] = q["row_key"].astype(str).str.slice(0, 128)
        q["snapshot_at"] = ctx.snapshot_at
        q["stage"] = stage
        q["run_id"] = ctx.run_id
        q["created_at"] = now
        upsert_frame(conn, "quarantined_rows", q)


def _fail_stage(ctx: RunContext, stage: str, batch: str, gate: Any) -> DataQualityError:
    """Record a failed gate (quality result + critical alert), nothing else; return the error."""
    alert = quality_alert(stage, batch, ctx.snapshot_at, gate.failure_reason or "failed")
    with transaction(ctx.engine) as conn:
        _record_gate(conn, ctx, stage, batch, gate)
        upsert_frame(
            conn, "alerts", pd.DataFrame([alert]), update=False, conflict_columns=["dedup_key"]
        )
    log_alerts([alert])
    return DataQualityError(
        f"data-quality gate '{stage}' refused batch {batch}: {gate.failure_reason}",
        stage=stage,
        bad_fraction=gate.bad_fraction,
    )


def _gate(
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
    return run_gate(
        stage,
        frame,
        suite,
        row_key=row_key,
        max_bad_fraction=MAX_BAD_FRACTION,
        extra_reasons=extra_reasons,
    )


# --------------------------------------------------------------------------- stage 1: ingest


def watchlist_symbols(engine: Engine, default: Sequence[str]) -> list[str]:
    """Active watchlist symbols; an empty watchlist is seeded with ``default`` first."""
    with transaction(engine) as conn:
        rows = conn.execute(text("SELECT symbol, active FROM watchlist")).fetchall()
        if not rows and default:
            seed = pd.DataFrame(
                {"symbol": list(default), "active": True, "source": "default", "added_at": utcnow()}
            )
            upsert_frame(conn, "watchlist", seed, update=False)
            return list(default)
    return sorted(str(r[0]) for r in rows if r[1])


def open_positions(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_frame(conn, "SELECT * FROM positions WHERE status = 'open'")


def seed_demo_positions(engine: Engine, quotes: pd.DataFrame, snapshot_at: dt.datetime) -> int:
    """Give the demo account long stock in up to three cheap symbols, so covered calls rank.

    Runs once: nothing happens when the demo account already has positions.
    """
    with transaction(engine) as conn:
        if conn.execute(
            text("SELECT 1 FROM positions WHERE account = :a"), {"a": DEMO_ACCOUNT}
        ).first():
            return 0
        cheap = quotes[(quotes["last"] > 5) & (quotes["last"] < 50)].sort_values("symbol").head(3)
        if cheap.empty:
            return 0
        basis = (cheap["last"] * 0.97).round(2).to_numpy()  # bought a little lower
        frame = pd.DataFrame(
            {
                "account": DEMO_ACCOUNT,
                "symbol": cheap["symbol"].to_numpy(),
                "asset_type": "stock",
                "quantity": 100,
                "average_price": basis,
                "cost_basis": basis,
                "status": "open",
                "opened_at": snapshot_at,
                "realized_pnl": 0.0,
                "source": "demo",
            }
        )
        frame.to_sql("positions", conn, if_exists="append", index=False)
        return len(frame)


def ingest_underlyings(
    ctx: RunContext, provider: MarketDataProvider, symbols: Sequence[str]
) -> IngestResult:
    """Quotes for ``symbols`` -> quotes gate -> ``underlying_quotes`` + recent ``price_bars``,
    then the price filter. Missing symbols are quarantined with a reason; a mostly-bad batch
    fails the stage."""
    from validations.suites import quotes_suite

    quotes = provider.quotes(list(symbols))
    quotes = quotes.assign(
        quote_age_seconds=(pd.Timestamp(ctx.snapshot_at) - quotes["quote_time"]).dt.total_seconds()
    )
    missing = sorted(set(symbols) - set(quotes["symbol"].dropna()))
    gate = _gate(
        ctx,
        "quotes",
        quotes,
        quotes_suite(symbols, MAX_QUOTE_AGE_SECONDS),
        quotes["symbol"].astype(str),
    )
    if missing:
        extra = pd.DataFrame(
            {
                "row_key": missing,
                "reasons": "no quote returned by the provider",
                "payload": [{"symbol": s} for s in missing],
            }
        )
        gate.quarantined = pd.concat([gate.quarantined, extra], ignore_index=True)
        gate.failed_rows += len(missing)
        gate.evaluated_rows += len(missing)
        if gate.passed and gate.bad_fraction > MAX_BAD_FRACTION:
            gate.passed = False
            gate.failure_reason = f"{len(missing)} of {len(symbols)} symbols have no quote"
    if not gate.passed:
        raise _fail_stage(ctx, "quotes", "all", gate)
    good = gate.good.drop(columns=["quote_age_seconds"])
    screening = ctx.config.screening
    in_window = good[
        (good["last"] >= screening.min_underlying_price)
        & (good["last"] <= screening.max_underlying_price)
    ]
    day = pd.Timestamp(ctx.snapshot_at).date()
    bars = provider.price_history(list(good["symbol"]), day - dt.timedelta(days=45), day)
    with transaction(ctx.engine) as conn:
        upsert_frame(
            conn,
            "underlying_quotes",
            good.assign(snapshot_at=ctx.snapshot_at, provider=ctx.provider_name),
        )
        upsert_frame(conn, "price_bars", bars.assign(provider=ctx.provider_name))
        _record_gate(conn, ctx, "quotes", "all", gate)
    if ctx.settings.seed_demo_positions:
        seed_demo_positions(ctx.engine, good, ctx.snapshot_at)
    positions = open_positions(ctx.engine)
    stock = (
        positions[(positions["asset_type"] == "stock") & (positions["quantity"] > 0)]
        if len(positions)
        else positions
    )
    cost_basis: dict[str, float] = {}
    if len(stock):
        held = stock.groupby("symbol").agg(
            shares=("quantity", "sum"),
            basis=("cost_basis", "max"),
            avg=("average_price", "max"),
        )
        for sym, row in held.iterrows():
            if row["shares"] >= 100 and sym in set(good["symbol"]):
                cost_basis[str(sym)] = float(row["basis"] if pd.notna(row["basis"]) else row["avg"])
    return IngestResult(
        quotes=good,
        csp_symbols=sorted(in_window["symbol"].astype(str)),
        cc_cost_basis=cost_basis,
        quarantined=len(gate.quarantined),
    )


# --------------------------------------------------------------------------- stage 2: chains


def batches(symbols: Sequence[str], size: int) -> list[list[str]]:
    items = list(symbols)
    return [items[i : i + size] for i in range(0, len(items), size)]


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
    gate = _gate(ctx, "chains", chains, chains_suite(), key, reasons)
    if not gate.passed:
        raise _fail_stage(ctx, "chains", label, gate)
    with transaction(ctx.engine) as conn:
        _record_gate(conn, ctx, "chains", label, gate)
    return gate.good.drop(columns=["parse_error"])


# --------------------------------------------------------------------------- stage 3: greeks


def compute_greeks(
    chains: pd.DataFrame, snapshot_at: dt.datetime, risk_free_rate: float, exercise: str
) -> pd.DataFrame:
    """Implied volatility from the mid and BSM greeks at it, vectorized over the whole batch.

    For American exercise the IV inverts the American price; greeks are then the BSM greeks at
    that volatility (the usual screener convention).
    """
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
            return_status=True,
        )
        g = bsm_greeks(spot, strike, t, risk_free_rate, 0.0, sigma, is_call)
        result: dict[str, Any] = {"iv": sigma, "status": status, **g}
    else:
        result = iv_and_greeks(mid, spot, strike, t, risk_free_rate, 0.0, is_call)
    for col in ("delta", "gamma", "theta", "vega", "rho"):
        out[col] = np.asarray(result[col], dtype=float)
    out["iv"] = np.asarray(result["iv"], dtype=float)
    status = np.asarray(result["status"])
    if np.issubdtype(status.dtype, np.integer):  # int8 codes from the one-pass solver
        status = status_names(status)
    out["iv_status"] = status.astype(str)
    return out


def validate_and_store_greeks(ctx: RunContext, frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Greeks gate, then ``option_snapshots`` (good rows only), quarantine and quality result in
    one transaction. Returns the stored rows."""
    from validations.suites import greeks_suite

    if frame.empty and not ctx.quality_gates:
        return frame
    reasons = frame["iv_status"].map(lambda s: None if s == "ok" else f"iv_status={s}")
    delta = frame["delta"].to_numpy(dtype=float)
    checked = frame.assign(directional_delta=np.where(frame["right"] == "C", delta, -delta))
    gate = _gate(ctx, "greeks", checked, greeks_suite(), frame["occ_symbol"].astype(str), reasons)
    if not gate.passed:
        raise _fail_stage(ctx, "greeks", label, gate)
    good = gate.good.drop(columns=["years_to_expiry", "directional_delta"], errors="ignore")
    good = good.assign(snapshot_at=ctx.snapshot_at, provider=ctx.provider_name)
    with transaction(ctx.engine) as conn:
        upsert_frame(conn, "option_snapshots", good)
        _record_gate(conn, ctx, "greeks", label, gate)
    return good


def load_option_snapshot(engine: Engine, snapshot_at: dt.datetime) -> pd.DataFrame:
    """The stored chains of one snapshot (for stage flows run on their own)."""
    with engine.connect() as conn:
        frame = read_frame(
            conn, "SELECT * FROM option_snapshots WHERE snapshot_at = :s", {"s": snapshot_at}
        )
    if len(frame):
        frame["expiration"] = pd.to_datetime(frame["expiration"])
    return frame


# --------------------------------------------------------------------------- stage 4: rank


def rank_opportunities(
    ctx: RunContext,
    chains: pd.DataFrame,
    cc_cost_basis: dict[str, float],
    csp_symbols: Sequence[str] | None = None,
) -> pd.DataFrame:
    """CSP over the eligible underlyings, CC over the long-stock ones; rankings gate applied."""
    from validations.suites import rankings_suite

    puts_universe = (
        chains if csp_symbols is None else chains[chains["underlying"].isin(list(csp_symbols))]
    )
    csp = rank_candidates(
        puts_universe,
        "csp",
        ctx.config.screening,
        ctx.snapshot_at,
        risk_free_rate=ctx.settings.risk_free_rate,
    )
    cc = rank_candidates(
        chains,
        "cc",
        ctx.config.screening,
        ctx.snapshot_at,
        risk_free_rate=ctx.settings.risk_free_rate,
        cost_basis=cc_cost_basis,
    )
    ranked = (
        pd.concat([f for f in (csp, cc) if len(f)], ignore_index=True)
        if len(csp) or len(cc)
        else csp
    )
    if ranked.empty:
        return ranked
    gate = _gate(
        ctx,
        "rankings",
        ranked,
        rankings_suite(),
        ranked["strategy"] + ":" + ranked["occ_symbol"].astype(str),
    )
    if not gate.passed:
        raise _fail_stage(ctx, "rankings", "all", gate)
    with transaction(ctx.engine) as conn:
        _record_gate(conn, ctx, "rankings", "all", gate)
    good = gate.good
    # Re-number ranks after any quarantine so they stay 1..N per strategy.
    good["rank"] = good.groupby("strategy").cumcount() + 1
    return good


# --------------------------------------------------------------------------- stage 5: risk


def apply_risk_checks(
    ctx: RunContext, rankings: pd.DataFrame, quotes: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Risk-check the candidates; write ``risk_checks`` and the (blocked-flagged) ``rankings``
    of this snapshot in one transaction, replacing any earlier result for the snapshot."""
    positions = open_positions(ctx.engine)
    prices = {} if quotes is None else dict(zip(quotes["symbol"], quotes["last"], strict=False))
    state = portfolio_state(positions, ctx.settings.account_cash, prices)
    ranked, checks = check_risk(rankings, state, ctx.config.risk)
    with transaction(ctx.engine) as conn:
        # The snapshot's rankings are replaced whole: a re-run can only shrink or reorder them.
        execute(conn, "DELETE FROM rankings WHERE snapshot_at = :s", {"s": ctx.snapshot_at})
        execute(conn, "DELETE FROM risk_checks WHERE snapshot_at = :s", {"s": ctx.snapshot_at})
        if len(ranked):
            upsert_frame(
                conn, "rankings", ranked.assign(snapshot_at=ctx.snapshot_at, run_id=ctx.run_id)
            )
        upsert_frame(
            conn, "risk_checks", checks.assign(snapshot_at=ctx.snapshot_at, run_id=ctx.run_id)
        )
    return ranked, checks


# --------------------------------------------------------------------------- stage 6: alerts


def raise_alerts(
    ctx: RunContext,
    rankings: pd.DataFrame,
    checks: pd.DataFrame,
    fetch_failures: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Write new alerts (de-duplicated by key) and log them; returns the ones that were new."""
    candidates = (
        opportunity_alerts(
            rankings,
            ctx.snapshot_at,
            ctx.config.alerts.top_opportunities,
            ctx.config.alerts.min_score_for_alert,
        )
        + risk_alerts(checks, ctx.snapshot_at)
        + fetch_failure_alerts(fetch_failures or {}, ctx.snapshot_at)
    )
    return store_new_alerts(ctx.engine, candidates)


# --------------------------------------------------------------------------- the whole run


def run_pipeline(
    engine: Engine,
    provider: MarketDataProvider,
    config: StrategyConfig,
    settings: Settings,
    snapshot_at: dt.datetime | None = None,
    symbols: Sequence[str] | None = None,
    *,
    quality_gates: bool = True,
) -> PipelineResult:
    """Every stage once, in order, without Prefect (simulations and scripts).

    A batch refused by a gate is recorded and skipped; the result's ``status`` is then
    ``failed`` with the reasons in ``failures`` (the Prefect flow turns that into a Failed run).
    """
    ctx = RunContext(
        engine,
        settings,
        config,
        snapshot_at or provider.snapshot_time(),
        provider.name,
        quality_gates=quality_gates,
    )
    timings: dict[str, float] = {}
    failures: list[str] = []
    start_run(ctx)
    try:
        t0 = time.perf_counter()
        universe = (
            list(symbols) if symbols else watchlist_symbols(engine, default_symbols(provider))
        )
        ingest = ingest_underlyings(ctx, provider, universe)
        timings["ingest"] = time.perf_counter() - t0

        good_frames: list[pd.DataFrame] = []
        fetch_failures: dict[str, str] = {}
        retries = 0
        for batch in batches(ingest.chain_symbols, settings.chain_batch_size):
            t0 = time.perf_counter()
            fetch = fetch_chain_batch(provider, batch)
            fetch_failures.update(fetch.failures)
            retries += fetch.retries
            timings["fetch_chains"] = timings.get("fetch_chains", 0) + time.perf_counter() - t0
            try:
                t0 = time.perf_counter()
                chains = validate_chains(ctx, fetch, batch_label(batch))
                timings["validate_chains"] = (
                    timings.get("validate_chains", 0) + time.perf_counter() - t0
                )
                t0 = time.perf_counter()
                with_greeks = compute_greeks(
                    chains,
                    ctx.snapshot_at,
                    settings.risk_free_rate,
                    exercise_style(provider, settings),
                )
                timings["greeks"] = timings.get("greeks", 0) + time.perf_counter() - t0
                t0 = time.perf_counter()
                good_frames.append(validate_and_store_greeks(ctx, with_greeks, batch_label(batch)))
                timings["store_chains"] = timings.get("store_chains", 0) + time.perf_counter() - t0
            except DataQualityError as exc:
                failures.append(str(exc))
        chains_all = pd.concat(good_frames, ignore_index=True) if good_frames else pd.DataFrame()
        t0 = time.perf_counter()
        ranked = (
            rank_opportunities(ctx, chains_all, ingest.cc_cost_basis, ingest.csp_symbols)
            if len(chains_all)
            else pd.DataFrame()
        )
        timings["rank"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        ranked, checks = apply_risk_checks(
            ctx, ranked if len(ranked) else _empty_rankings(), ingest.quotes
        )
        timings["risk"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        alerts = raise_alerts(ctx, ranked, checks, fetch_failures)
        timings["alerts"] = time.perf_counter() - t0
        counts = {
            "underlyings": len(ingest.chain_symbols),
            "contracts": int(sum(map(len, good_frames))),
            "rankings": len(ranked),
        }
        status = "failed" if failures else "completed"
        finish_run(
            ctx,
            status,
            counts=counts,
            stage_seconds=timings,
            details={
                "provider_retries": retries,
                "chain_failures": fetch_failures,
                "gate_failures": failures,
            },
            error="; ".join(failures) or None,
        )
        return PipelineResult(
            ctx.run_id, ctx.snapshot_at, status, ranked, checks, alerts, counts, timings, failures
        )
    except Exception as exc:
        finish_run(ctx, "failed", stage_seconds=timings, error=f"{type(exc).__name__}: {exc}")
        raise


def exercise_style(provider: MarketDataProvider, settings: Settings) -> str:
    """The exercise style IV is solved for: the provider's, unless settings force one."""
    return provider.exercise_style if settings.exercise_style == "auto" else settings.exercise_style


def default_symbols(provider: MarketDataProvider) -> list[str]:
    """The provider's own universe when it has one (the synthetic market), else none."""
    return list(getattr(provider, "symbols", []) or [])


def _empty_rankings() -> pd.DataFrame:
    from wheelflow.strategy.screening import RANKING_COLUMNS

    return pd.DataFrame(columns=list(RANKING_COLUMNS))


# --------------------------------------------------------------------------- stage re-runs


def latest_snapshot(engine: Engine, table_name: str = "option_snapshots") -> dt.datetime | None:
    """The newest snapshot stored in a table (stage flows default to it)."""
    with engine.connect() as conn:
        value = conn.execute(text(f"SELECT MAX(snapshot_at) FROM {table_name}")).scalar()
    if value is None:
        return None
    return value if isinstance(value, dt.datetime) else pd.Timestamp(value).to_pydatetime()


def stored_ingest(ctx: RunContext) -> IngestResult:
    """The ingest outcome of a snapshot, rebuilt from ``underlying_quotes`` and ``positions``."""
    with ctx.engine.connect() as conn:
        quotes = read_frame(
            conn, "SELECT * FROM underlying_quotes WHERE snapshot_at = :s", {"s": ctx.snapshot_at}
        )
    screening = ctx.config.screening
    window = quotes[
        quotes["last"].between(screening.min_underlying_price, screening.max_underlying_price)
    ]
    positions = open_positions(ctx.engine)
    basis: dict[str, float] = {}
    if len(positions):
        stock = positions[(positions["asset_type"] == "stock") & (positions["quantity"] > 0)]
        for sym, g in stock.groupby("symbol"):
            if g["quantity"].sum() >= 100 and sym in set(quotes["symbol"]):
                b = g["cost_basis"].fillna(g["average_price"]).max()
                basis[str(sym)] = float(b)
    return IngestResult(
        quotes=quotes, csp_symbols=sorted(window["symbol"].astype(str)), cc_cost_basis=basis
    )


def stored_rankings(engine: Engine, snapshot_at: dt.datetime) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = read_frame(
            conn,
            "SELECT * FROM rankings WHERE snapshot_at = :s ORDER BY strategy, rank",
            {"s": snapshot_at},
        )
    return frame.drop(columns=["snapshot_at", "run_id"], errors="ignore")


def stored_risk_checks(engine: Engine, snapshot_at: dt.datetime) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_frame(
            conn, "SELECT * FROM risk_checks WHERE snapshot_at = :s", {"s": snapshot_at}
        )
