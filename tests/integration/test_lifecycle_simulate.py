"""``simulate`` over the synthetic market: the accounting identities hold at every step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from wheelflow.db import ensure_schema, make_engine
from wheelflow.settings import load_settings
from wheelflow.simulate import SimulationResult, simulate
from wheelflow.strategy.config import StrategyConfig

SESSIONS = 15


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def simulated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SimulationResult, Engine]]:
    """One short simulation per backend, shared by this module's tests (it takes seconds)."""
    from tests.conftest import _fresh_postgres_url

    urls: Iterator[str] | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sim') / 'wheelflow.sqlite'}"
    else:
        urls = _fresh_postgres_url()
        url = next(urls)
    engine = make_engine(url)
    ensure_schema(engine)
    result = simulate(
        engine,
        sessions=SESSIONS,
        seed=7,
        config=StrategyConfig(),
        settings=load_settings(seed_demo_positions=False),
        universe_size=12,
    )
    yield result, engine
    engine.dispose()
    if urls is not None:
        next(urls, None)


@pytest.fixture
def result(simulated: tuple[SimulationResult, Engine]) -> SimulationResult:
    return simulated[0]


def test_cash_plus_positions_equals_start_plus_realized_plus_unrealized_every_day(
    result: SimulationResult,
) -> None:
    assert len(result.equity_curve) == SESSIONS
    assert result.equity_curve["accounting_gap"].abs().max() < 1e-6


def test_short_puts_never_need_more_collateral_than_the_cash(result: SimulationResult) -> None:
    assert (result.equity_curve["collateral_shortfall"] <= 1e-6).all()


def test_simulation_trades_and_books_every_filled_order_as_a_wheel_event(
    simulated: tuple[SimulationResult, Engine],
) -> None:
    result, engine = simulated
    with engine.connect() as conn:
        filled = conn.execute(text("SELECT COUNT(*) FROM orders WHERE status = 'filled'"))
        from_orders = conn.execute(
            text("SELECT COUNT(DISTINCT client_order_id) FROM position_events")
        )
        filled_n, booked_n = filled.scalar_one(), from_orders.scalar_one()
    assert result.puts_sold > 0
    # a roll books its two orders as one event, keyed by the new leg's order
    assert booked_n <= filled_n
    assert result.realized_pnl == pytest.approx(
        result.trades.loc[result.trades["to_state"] == "CASH", "realized_pnl"].sum()
    )


def test_summary_reports_the_issue_figures(result: SimulationResult) -> None:
    text_ = result.summary()
    for label in ("cycles", "premium collected", "assignments", "realized P&L", "max drawdown"):
        assert label in text_
    assert "buy-and-hold" in text_


def test_cli_simulate_writes_the_trades_csv_and_chart(tmp_path: Path) -> None:
    from wheelflow.cli import main

    trades, chart = tmp_path / "trades.csv", tmp_path / "equity.png"
    args = ["simulate", "--days", "8", "--universe", "8", "--trades", str(trades)]
    assert main([*args, "--chart", str(chart)]) == 0
    assert {"occurred_at", "symbol", "kind", "cash_flow"} <= set(pd.read_csv(trades).columns)
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
