"""``simulate``: run the whole wheel daily over the synthetic market and measure it.

Each session: market snapshot -> chains, IV and greeks -> rankings -> decisions -> paper fills
-> expirations -> mark to market, with the accounting identities checked every day. The
default ``fast`` mode calls the pipeline's domain functions (``compute_greeks``,
``rank_candidates``) and stores only quotes and chains; ``pipeline`` mode runs
``run_pipeline`` itself (gates, risk, alerts) and is several times slower.

Money in USD; returns as fractions; annualized over 252 sessions a year.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from wheelflow.db import read_frame, transaction, upsert_frame
from wheelflow.execution.ledger import AccountMark, load_open_cycles, mark_account
from wheelflow.execution.paper import PaperBroker
from wheelflow.execution.service import PositionService
from wheelflow.risk.limits import LIMIT_LABELS
from wheelflow.settings import Settings
from wheelflow.strategy.config import StrategyConfig
from wheelflow.strategy.decisions import decide
from wheelflow.strategy.sizing import symbol_allocation
from wheelflow.strategy.wheel import SHARES_PER_CONTRACT, WheelCycle, WheelState

if TYPE_CHECKING:
    from wheelflow.providers.base import MarketDataProvider
    from wheelflow.providers.files import FileChains
    from wheelflow.providers.synthetic import SyntheticMarket

SESSIONS_PER_YEAR = 252
DEFAULT_START = dt.date(2025, 3, 3)  # two months into the synthetic history


@dataclass
class SimulationResult:
    """Summary figures, the daily equity curve and the trade log of one simulation."""

    sessions: int
    start: dt.date
    end: dt.date
    starting_cash: float
    final_equity: float
    cycles: int
    cycles_closed: int
    puts_sold: int
    assignments: int
    called_away: int
    premium_collected: float  # net of buy-backs
    fees: float
    realized_pnl: float
    unrealized_pnl: float
    max_drawdown: float  # fraction of the running peak
    worst_day_loss: float  # largest one-session fall of equity, fraction of the day before
    volatility: float  # annualized standard deviation of daily equity returns
    max_scenario_loss: float  # largest end-of-day worst-stress-scenario loss, share of equity
    blocked_by_limit: dict[str, int]  # opening orders refused by each portfolio limit
    annualized_return: float
    buy_and_hold_annualized: float
    max_accounting_gap: float  # USD, |cash + positions - (start + realized + unrealized)|
    max_collateral_shortfall: float  # USD, short-put collateral beyond cash (<= 0 is sound)
    seconds: float
    scenario_loss_limit: float
    equity_curve: pd.DataFrame = field(repr=False)
    trades: pd.DataFrame = field(repr=False)

    @property
    def assignment_rate(self) -> float:
        return self.assignments / self.puts_sold if self.puts_sold else 0.0

    def summary(self) -> str:
        lines = [
            f"sessions            {self.sessions} ({self.start} .. {self.end})",
            f"cycles              {self.cycles} ({self.cycles_closed} closed)",
            f"puts sold           {self.puts_sold}",
            f"assignments         {self.assignments} (rate {self.assignment_rate:.1%})",
            f"called away         {self.called_away}",
            f"premium collected   {self.premium_collected:,.2f} USD (net of buy-backs)",
            f"fees                {self.fees:,.2f} USD",
            f"realized P&L        {self.realized_pnl:,.2f} USD",
            f"unrealized P&L      {self.unrealized_pnl:,.2f} USD",
            f"equity              {self.starting_cash:,.2f} -> {self.final_equity:,.2f} USD",
            f"max drawdown        {self.max_drawdown:.2%}",
            f"worst day           {-self.worst_day_loss:+.2%} of equity; volatility "
            f"{self.volatility:.1%} a year",
            f"worst stress loss   {self.max_scenario_loss:.1%} of equity at the worst close "
            f"(limit max_scenario_loss {self.scenario_loss_limit:.0%})",
            "orders blocked      "
            + (
                ", ".join(f"{k} {v}" for k, v in sorted(self.blocked_by_limit.items()))
                or "none by the portfolio limits"
            ),
            f"annualized return   {self.annualized_return:.2%} "
            f"(buy-and-hold of the same underlyings {self.buy_and_hold_annualized:.2%})",
            f"accounting gap      {self.max_accounting_gap:.6f} USD max; collateral shortfall "
            f"{max(self.max_collateral_shortfall, 0.0):.2f} USD max",
            f"run time            {self.seconds:.1f} s",
        ]
        return "\n".join(lines)


def simulate(
    engine: Engine,
    *,
    sessions: int,
    seed: int,
    config: StrategyConfig,
    settings: Settings,
    universe_size: int = 30,
    start: dt.date = DEFAULT_START,
    mode: Literal["fast", "pipeline"] = "fast",
    portfolio_limits: bool = True,
    replay: FileChains | None = None,
) -> SimulationResult:
    """Run the wheel for ``sessions`` trading days from ``start`` on a migrated, empty database.

    With ``portfolio_limits`` every opening order also passes the risk service's limits
    (:class:`wheelflow.risk.guard.PortfolioGuard`: worst stress loss, sector and cluster
    exposure, beta-weighted delta, VaR), as ``execute_wheel`` does.

    ``replay``: step through a recording's days instead (the last snapshot of each, at most
    ``sessions``) with the live policy, i.e. the full pipeline (``mode`` "pipeline").
    """
    from wheelflow.providers.synthetic import SyntheticMarket, trading_sessions
    from wheelflow.risk.guard import PortfolioGuard

    t0 = time.perf_counter()
    markets: list[tuple[dt.date, Any]]
    if replay is not None:
        mode = "pipeline"
        markets = [(ts.date(), replay.at(ts)) for ts in replay.daily_snapshots()[:sessions]]
    else:
        days = trading_sessions(start, start + dt.timedelta(days=sessions * 2 + 10))[:sessions]
        markets = [
            (
                ts.date(),
                SyntheticMarket(seed=seed, as_of=ts.date(), universe_size=universe_size),
            )
            for ts in days
        ]
    wheel = config.wheel
    broker = PaperBroker(
        engine,
        slippage=wheel.slippage,
        fee_per_contract=wheel.fee_per_contract,
        fee_per_order=wheel.fee_per_order,
        starting_cash=wheel.starting_cash,
    )
    broker.open_account(wheel.account, wheel.starting_cash)
    guard = PortfolioGuard(
        engine, config.risk, screening_cash=wheel.starting_cash, rate=settings.risk_free_rate
    )
    service = PositionService(engine, broker, config, guard=guard if portfolio_limits else None)
    curve: list[dict[str, float | dt.date]] = []
    closes: dict[dt.date, pd.Series] = {}
    equity = wheel.starting_cash  # as of the previous close; sizes today's orders
    for day, market in markets:
        snapshot_at = market.snapshot_time()
        book = service.book()
        buying_power = broker.balances(wheel.account).buying_power
        if mode == "pipeline":
            rankings, quotes = _pipeline_rankings(engine, market, config, settings, snapshot_at)
            option_quotes = _option_quotes(engine, book, snapshot_at)
        else:
            budget = min(buying_power * wheel.max_new_buying_power_share, buying_power)
            rankings, quotes, option_quotes = _fast_rankings(
                engine, market, config, settings, book, snapshot_at, equity, budget
            )
        closes[day] = quotes.set_index("symbol")["last"].astype(float)
        guard.prepare(
            snapshot_at,
            market.symbols,
            bars=market.price_history(market.symbols, day - dt.timedelta(days=400), day),
            # the provider's sectors where it has them (the synthetic market; not a recording)
            provider_sectors=(
                market.sectors(market.symbols) if hasattr(market, "sectors") else None
            ),
        )
        broker.expire_working_orders(wheel.account, snapshot_at)
        decisions = decide(
            rankings,
            book,
            option_quotes,
            quotes,
            buying_power=buying_power,
            equity=equity,
            config=config,
            snapshot_at=snapshot_at,
            as_of=day,
        )
        service.execute(decisions, equity=equity)
        broker.settle_expirations(wheel.account, day)
        service.process_expirations(day)
        after = _mark(engine, wheel.account, snapshot_at)
        equity = after.equity
        stress = guard.account_risk(wheel.account).scenarios
        stress = stress[stress["kind"] == "stress"]
        curve.append(
            {
                "date": day,
                "equity": after.equity,
                "cash": after.cash,
                "realized_pnl": after.realized_pnl,
                "unrealized_pnl": after.unrealized_pnl,
                "accounting_gap": after.accounting_gap,
                "collateral_shortfall": after.put_collateral - after.cash,
                "scenario_loss": max(0.0, -float(stress["pnl"].min()) / max(equity, 1e-9)),
            }
        )
    return _result(
        engine, wheel.account, wheel.starting_cash, curve, closes, t0, config.risk.max_scenario_loss
    )


def _fast_rankings(
    engine: Engine,
    market: SyntheticMarket,
    config: StrategyConfig,
    settings: Settings,
    book: dict[str, WheelCycle],
    snapshot_at: dt.datetime,
    equity: float,
    budget: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Chains -> IV/greeks -> CSP and CC rankings with the pipeline's functions; stores quotes
    and chains (what the paper broker fills against).

    Idle symbols whose cheapest plausible put (strike 0.6 x spot) exceeds both their allocation
    and today's budget are not fetched: they could not be sized to one contract anyway."""
    from wheelflow.pipeline import compute_greeks
    from wheelflow.pipeline.context import history_start, load_market_context
    from wheelflow.strategy.screening import rank_candidates

    quotes = market.quotes(market.symbols)
    screening = config.screening
    in_window = quotes[
        (quotes["last"] >= screening.min_underlying_price)
        & (quotes["last"] <= screening.max_underlying_price)
    ]
    floor = 0.6 * in_window["last"].to_numpy(dtype=float) * SHARES_PER_CONTRACT
    allocation = np.array(
        [symbol_allocation(str(sym), equity, config.wheel) for sym in in_window["symbol"]]
    )
    in_window = in_window["symbol"][(floor <= np.minimum(allocation, budget))].tolist()
    held = {s: c for s, c in book.items() if c.shares >= SHARES_PER_CONTRACT}
    symbols = sorted(set(in_window) | set(book))
    chains = market.option_chains(symbols).chains
    chains = _tradeable(chains, config, snapshot_at, book)
    greeks = compute_greeks(
        chains,
        snapshot_at,
        settings.risk_free_rate,
        market.exercise_style,
    )
    greeks = greeks.assign(snapshot_at=snapshot_at, provider="synthetic")
    # Rank only what decisions can use: puts for idle symbols and for short puts due a roll,
    # calls for idle stock and for short calls due a roll.
    rolling = _due_for_roll(book, config, snapshot_at.date())
    put_symbols = {s for s in in_window if s not in book} | {
        s for s in rolling if book[s].state is WheelState.SHORT_PUT
    }
    basis = {
        s: float(c.cost_basis)
        for s, c in held.items()
        if c.cost_basis is not None and (c.state is WheelState.LONG_STOCK or s in rolling)
    }
    day = snapshot_at.date()
    bars = market.price_history(symbols, history_start(day, config.expected_value), day)
    context = load_market_context(market, symbols, day, config.expected_value, bars).context
    frames = []
    if put_symbols:
        puts = greeks[greeks["underlying"].isin(put_symbols)]
        frames.append(
            rank_candidates(
                puts,
                "csp",
                screening,
                snapshot_at,
                risk_free_rate=settings.risk_free_rate,
                strategy_config=config,
                context=context,
            )
        )
    if basis:
        frames.append(
            rank_candidates(
                greeks,
                "cc",
                screening,
                snapshot_at,
                risk_free_rate=settings.risk_free_rate,
                cost_basis=basis,
                strategy_config=config,
                context=context,
            )
        )
    csp = pd.DataFrame(columns=["occ_symbol", "blocked"])
    frames = [f for f in frames if len(f)]
    rankings = pd.concat(frames, ignore_index=True) if frames else csp
    rankings["blocked"] = rankings.get("blocked", False)
    rankings["blocked"] = rankings["blocked"].fillna(False).astype(bool)
    # Store what the paper broker can fill against: ranked contracts and the open shorts.
    open_occs = {c.option_occ for c in book.values() if c.option_occ}
    wanted = greeks["occ_symbol"].isin(set(rankings["occ_symbol"]) | open_occs)
    with transaction(engine) as conn:
        upsert_frame(
            conn,
            "underlying_quotes",
            quotes.assign(snapshot_at=snapshot_at, provider="synthetic"),
        )
        upsert_frame(conn, "option_snapshots", greeks[wanted.to_numpy()])
    stored = greeks[wanted.to_numpy()]
    return (
        rankings,
        quotes,
        stored[stored["occ_symbol"].isin(open_occs)][["occ_symbol", "bid", "ask"]],
    )


def _due_for_roll(book: dict[str, WheelCycle], config: StrategyConfig, as_of: dt.date) -> set[str]:
    """Symbols whose short option is inside the roll window (they need roll candidates)."""
    window = config.management.roll_when_dte_at_most
    if window is None:
        return set()
    return {
        s
        for s, c in book.items()
        if c.option_expiration is not None and (c.option_expiration - as_of).days <= window
    }


def _tradeable(
    chains: pd.DataFrame,
    config: StrategyConfig,
    snapshot_at: dt.datetime,
    book: dict[str, WheelCycle],
) -> pd.DataFrame:
    """Rows the wheel could trade: clean, out of the money, inside the wheel's DTE window, plus
    the open shorts (they need a mark). Cuts IV solving and ranking to a fraction of the chain;
    ITM contracts have |delta| > 0.5, outside any sensible target window."""
    wheel = config.wheel
    days = (chains["expiration"] - pd.Timestamp(snapshot_at.date())).dt.days
    otm = np.where(
        chains["right"] == "P",
        chains["strike"] <= chains["underlying_price"],
        chains["strike"] >= chains["underlying_price"],
    )
    in_window = days.between(wheel.min_days_to_expiry, wheel.max_days_to_expiry).to_numpy()
    held = chains["occ_symbol"].isin({c.option_occ for c in book.values() if c.option_occ})
    keep = (chains["parse_error"].isna().to_numpy()) & ((otm & in_window) | held.to_numpy())
    return chains[keep].reset_index(drop=True)


def _pipeline_rankings(
    engine: Engine,
    market: MarketDataProvider,
    config: StrategyConfig,
    settings: Settings,
    snapshot_at: dt.datetime,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The full pipeline run of the snapshot (gates, risk, alerts)."""
    from wheelflow.pipeline import default_symbols, run_pipeline

    result = run_pipeline(engine, market, config, settings, snapshot_at)
    quotes = market.quotes(default_symbols(market))
    return result.rankings, quotes


def _option_quotes(
    engine: Engine, book: dict[str, WheelCycle], snapshot_at: dt.datetime
) -> pd.DataFrame:
    occs = [c.option_occ for c in book.values() if c.option_occ]
    if not occs:
        return pd.DataFrame(columns=["occ_symbol", "bid", "ask"])
    with engine.connect() as conn:
        frame = read_frame(
            conn,
            "SELECT occ_symbol, bid, ask, snapshot_at FROM option_snapshots WHERE occ_symbol IN "
            "(" + ", ".join(f"'{o}'" for o in occs) + ")",
        )
    frame["snapshot_at"] = pd.to_datetime(frame["snapshot_at"])
    frame = frame[frame["snapshot_at"] == pd.Timestamp(snapshot_at)]
    return frame[["occ_symbol", "bid", "ask"]]


def _mark(engine: Engine, account: str, snapshot_at: dt.datetime) -> AccountMark:
    with engine.connect() as conn:
        return mark_account(conn, account, snapshot_at)


def _result(
    engine: Engine,
    account: str,
    starting_cash: float,
    curve_rows: list[dict[str, float | dt.date]],
    closes: dict[dt.date, pd.Series],
    t0: float,
    scenario_loss_limit: float,
) -> SimulationResult:
    curve = pd.DataFrame(curve_rows)
    with engine.connect() as conn:
        cycles = read_frame(conn, "SELECT * FROM wheel_cycles WHERE account = :a", {"a": account})
        trades = read_frame(
            conn,
            "SELECT occurred_at, symbol, kind, from_state, to_state, occ_symbol, contracts, "
            "price, strike, fees, cash_flow, realized_pnl, cycle_id, client_order_id "
            "FROM position_events WHERE account = :a ORDER BY occurred_at, id",
            {"a": account},
        )
        still_open = load_open_cycles(conn, account)
        refused = read_frame(
            conn,
            "SELECT reason FROM orders WHERE account = :a AND status = 'rejected' AND "
            "reason LIKE :p",
            {"a": account, "p": "%portfolio limit:%"},
        )
    kinds = trades["kind"].value_counts() if len(trades) else pd.Series(dtype=int)
    equity = curve["equity"].to_numpy(dtype=float)
    peak = np.maximum.accumulate(np.concatenate([[starting_cash], equity]))[1:]
    drawdown = float(np.max((peak - equity) / peak)) if len(equity) else 0.0
    daily = (
        np.diff(np.concatenate([[starting_cash], equity]))
        / np.concatenate([[starting_cash], equity])[:-1]
    )
    blocked = {
        name: int(refused["reason"].str.contains(label, regex=False).sum())
        for name, label in LIMIT_LABELS.items()
        if len(refused) and refused["reason"].str.contains(label, regex=False).any()
    }
    n = len(curve)
    final = float(equity[-1]) if n else starting_cash
    traded = sorted(set(cycles["symbol"])) if len(cycles) else []
    last = curve.iloc[-1] if n else None
    return SimulationResult(
        sessions=n,
        start=curve["date"].iloc[0] if n else DEFAULT_START,
        end=curve["date"].iloc[-1] if n else DEFAULT_START,
        starting_cash=starting_cash,
        final_equity=final,
        cycles=len(cycles),
        cycles_closed=len(cycles) - len(still_open),
        puts_sold=int(kinds.get("put_sold", 0)),
        assignments=int(kinds.get("put_assigned", 0)),
        called_away=int(kinds.get("called_away", 0)),
        premium_collected=float(cycles["premium_collected"].sum()) if len(cycles) else 0.0,
        fees=float(cycles["fees"].sum()) if len(cycles) else 0.0,
        realized_pnl=float(last["realized_pnl"]) if last is not None else 0.0,
        unrealized_pnl=float(last["unrealized_pnl"]) if last is not None else 0.0,
        max_drawdown=drawdown,
        worst_day_loss=max(0.0, -float(daily.min())) if len(daily) else 0.0,
        volatility=float(np.std(daily, ddof=1) * math.sqrt(SESSIONS_PER_YEAR))
        if len(daily) > 1
        else 0.0,
        max_scenario_loss=float(curve["scenario_loss"].max()) if n else 0.0,
        blocked_by_limit=blocked,
        scenario_loss_limit=scenario_loss_limit,
        annualized_return=_annualized(final / starting_cash, n),
        buy_and_hold_annualized=_annualized(_buy_and_hold(closes, traded), n),
        max_accounting_gap=float(curve["accounting_gap"].abs().max()) if n else 0.0,
        max_collateral_shortfall=float(curve["collateral_shortfall"].max()) if n else 0.0,
        seconds=time.perf_counter() - t0,
        equity_curve=curve,
        trades=trades,
    )


def _buy_and_hold(closes: dict[dt.date, pd.Series], symbols: list[str]) -> float:
    """Growth factor of an equal-weight buy-and-hold of ``symbols`` from first to last close."""
    if not closes or not symbols:
        return 1.0
    days = sorted(closes)
    first, last = closes[days[0]], closes[days[-1]]
    held = [s for s in symbols if s in first.index and s in last.index]
    if not held:
        return 1.0
    return float(np.mean([last[s] / first[s] for s in held]))


def _annualized(growth: float, sessions: int) -> float:
    if sessions <= 0 or growth <= 0:
        return 0.0 if growth > 0 else -1.0
    return math.pow(growth, SESSIONS_PER_YEAR / sessions) - 1.0


def write_chart(result: SimulationResult, path: str) -> None:
    """Equity curve PNG (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = result.equity_curve
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(pd.to_datetime(curve["date"]), curve["equity"], label="wheel equity (USD)")
    ax.axhline(result.starting_cash, color="grey", linewidth=0.8, linestyle="--")
    ax.set_title(
        f"wheelflow simulate: {result.sessions} sessions, "
        f"{result.annualized_return:.1%}/yr vs buy-and-hold {result.buy_and_hold_annualized:.1%}/yr"
    )
    ax.set_ylabel("USD")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["SimulationResult", "WheelState", "simulate", "write_chart"]
