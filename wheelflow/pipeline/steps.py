"""The steps the pipeline body calls, as one swappable bundle (thetagang's ``OptionsStrategyDeps``).

``PLAIN_STEPS`` calls the stage functions directly (simulations, scripts, benchmarks);
``tasks.pipeline.prefect_steps`` wraps the same functions as Prefect tasks (the flows). The body
(``wheelflow.pipeline.body``) is written once against this interface.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import pandas as pd

from wheelflow.pipeline import chains as chain_stage
from wheelflow.pipeline import decide, ingest
from wheelflow.pipeline.run import IngestResult, RunContext
from wheelflow.providers.base import ChainFetch, MarketDataProvider
from wheelflow.strategy.valuation import MarketContext

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Pending(Protocol[T_co]):
    """A started step whose outcome ``result()`` returns or raises (a ``PrefectFuture`` is one)."""

    def result(self) -> T_co: ...


class Deferred(Generic[T]):
    """A step run when its result is asked for: the plain steps' ``Pending`` (one batch in
    memory at a time)."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call

    def result(self) -> T:
        return self._call()


@dataclass(frozen=True)
class PipelineSteps:
    """One callable per step of the pipeline; see the stage functions for each contract."""

    ingest: Callable[[RunContext, MarketDataProvider, Sequence[str]], IngestResult]
    # Starts one batch's fetch; the body starts every batch before it waits on the first.
    start_chain_fetch: Callable[[MarketDataProvider, Sequence[str]], Pending[ChainFetch]]
    validate_chains: Callable[[RunContext, ChainFetch, str], pd.DataFrame]
    compute_greeks: Callable[[RunContext, pd.DataFrame, str, pd.DataFrame | None], pd.DataFrame]
    store_greeks: Callable[[RunContext, pd.DataFrame, str], pd.DataFrame]
    rank: Callable[
        [RunContext, pd.DataFrame, dict[str, float], Sequence[str] | None, MarketContext | None],
        pd.DataFrame,
    ]
    check_risk: Callable[
        [RunContext, pd.DataFrame, pd.DataFrame | None], tuple[pd.DataFrame, pd.DataFrame]
    ]
    raise_alerts: Callable[
        [RunContext, pd.DataFrame, pd.DataFrame, dict[str, str]], list[dict[str, Any]]
    ]
    publish: Callable[[RunContext, pd.DataFrame, pd.DataFrame], None]
    # Sends the outbox's due alerts once the run is recorded; returns where they went (a line)
    # or None when nothing is delivered here (plain steps; RabbitMQ workers deliver instead).
    deliver: Callable[[RunContext], str | None]


def _greeks(
    ctx: RunContext, chains: pd.DataFrame, exercise: str, dividends: pd.DataFrame | None
) -> pd.DataFrame:
    return chain_stage.compute_greeks(
        chains, ctx.snapshot_at, ctx.settings.risk_free_rate, exercise, dividends
    )


def _start_fetch(provider: MarketDataProvider, symbols: Sequence[str]) -> Pending[ChainFetch]:
    batch = list(symbols)
    return Deferred(lambda: chain_stage.fetch_chain_batch(provider, batch))


def _no_artifacts(ctx: RunContext, rankings: pd.DataFrame, checks: pd.DataFrame) -> None:
    return None


def _no_delivery(ctx: RunContext) -> None:
    return None


PLAIN_STEPS = PipelineSteps(
    ingest=ingest.ingest_underlyings,
    start_chain_fetch=_start_fetch,
    validate_chains=chain_stage.validate_chains,
    compute_greeks=_greeks,
    store_greeks=chain_stage.validate_and_store_greeks,
    rank=decide.rank_opportunities,
    check_risk=decide.apply_risk_checks,
    raise_alerts=decide.raise_alerts,
    publish=_no_artifacts,
    deliver=_no_delivery,
)
