"""The Position Service with the paper broker: orders, fills, the wheel ledger, idempotence."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from tests.integration._lifecycle_market import (
    DAY1,
    EXPIRY,
    SYMBOL,
    call_occ,
    put_occ,
    store_quote,
)
from wheelflow.errors import LiveTradingDisabled
from wheelflow.execution.broker import Balances, BrokerTimeout, OrderRequest, OrderState
from wheelflow.execution.brokers import make_broker
from wheelflow.execution.ledger import mark_account
from wheelflow.execution.paper import PaperBroker
from wheelflow.execution.service import PositionService
from wheelflow.settings import load_settings
from wheelflow.strategy.config import StrategyConfig, parse_strategy_config
from wheelflow.strategy.decisions import Decision, Leg
from wheelflow.strategy.wheel import WheelState

EXPIRY2 = dt.date(2027, 1, 15)
AT_EXPIRY = dt.datetime.combine(EXPIRY, dt.time(21))
DAY3 = dt.datetime(2026, 12, 21, 21, 0)
AT_EXPIRY2 = dt.datetime.combine(EXPIRY2, dt.time(21))
EQUITY = 100_000.0


def _config() -> StrategyConfig:
    return parse_strategy_config(
        {"wheel": {"slippage": 0.0, "fee_per_contract": 0.65, "starting_cash": EQUITY}}
    )


def _put_decision(at: dt.datetime = DAY1, quantity: int = 1) -> Decision:
    leg = Leg("sell_to_open", put_occ(), "P", 50.0, EXPIRY, quantity, 1.20)
    return Decision("open_put", "paper", SYMBOL, at, leg, "test put")


def _call_decision(strike: float = 52.0) -> Decision:
    leg = Leg("sell_to_open", call_occ(strike, EXPIRY2), "C", strike, EXPIRY2, 1, 0.80)
    return Decision("open_call", "paper", SYMBOL, DAY3, leg, "test call")


class _Desk:
    """A paper broker and the service on one database."""

    def __init__(self, engine: Engine, broker: PaperBroker | None = None) -> None:
        self.engine = engine
        self.paper = PaperBroker(engine, slippage=0.0, fee_per_contract=0.65)
        self.service = PositionService(engine, broker or self.paper, _config())

    def expire(self, day: dt.date) -> list[str]:
        self.paper.settle_expirations("paper", day)
        return [t.event.kind for t in self.service.process_expirations(day)]

    def gap(self, at: dt.datetime) -> float:
        with self.engine.connect() as conn:
            return mark_account(conn, "paper", at).accounting_gap

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


@pytest.fixture
def desk(engine: Engine) -> _Desk:
    store_quote(engine, DAY1, 52.0, {put_occ(): (1.10, 1.30)})
    return _Desk(engine)


def test_filled_put_opens_a_short_put_cycle(desk: _Desk) -> None:
    [outcome] = desk.service.execute([_put_decision()], equity=EQUITY)
    assert (outcome.status, outcome.fill_price) == ("filled", pytest.approx(1.20))
    assert desk.service.book()[SYMBOL].state is WheelState.SHORT_PUT


def test_full_cycle_realizes_hand_computed_pnl_and_the_books_balance_at_every_step(
    desk: _Desk, engine: Engine
) -> None:
    gaps = []
    desk.service.execute([_put_decision()], equity=EQUITY)
    gaps.append(desk.gap(DAY1))
    store_quote(engine, AT_EXPIRY, 47.0)
    assert desk.expire(EXPIRY) == ["put_assigned"]
    gaps.append(desk.gap(AT_EXPIRY))
    store_quote(engine, DAY3, 49.0, {call_occ(52.0, EXPIRY2): (0.70, 0.90)})
    [call] = desk.service.execute([_call_decision()], equity=EQUITY)
    assert call.status == "filled"
    gaps.append(desk.gap(DAY3))
    store_quote(engine, AT_EXPIRY2, 55.0)
    assert desk.expire(EXPIRY2) == ["called_away"]
    gaps.append(desk.gap(AT_EXPIRY2))
    with engine.connect() as conn:
        cycle = conn.execute(text("SELECT * FROM wheel_cycles")).mappings().one()
        kinds = conn.execute(text("SELECT kind FROM position_events ORDER BY id")).scalars().all()
        cash = conn.execute(text("SELECT cash FROM accounts")).scalar_one()
    # premiums 120 + 80, fees 2 x 0.65, stock bought at 50 and called away at 52 (x 100)
    assert cycle["realized_pnl"] == pytest.approx(398.70)
    assert not cycle["is_open"] and cycle["assigned"]
    assert kinds == ["put_sold", "put_assigned", "call_sold", "called_away"]
    assert cash == pytest.approx(EQUITY + 398.70)
    assert gaps == pytest.approx([0.0, 0.0, 0.0, 0.0], abs=1e-6)


def test_assignment_sets_the_stock_positions_adjusted_cost_basis(
    desk: _Desk, engine: Engine
) -> None:
    desk.service.execute([_put_decision()], equity=EQUITY)
    store_quote(engine, AT_EXPIRY, 47.0)
    desk.expire(EXPIRY)
    with engine.connect() as conn:
        basis = conn.execute(
            text("SELECT cost_basis FROM positions WHERE asset_type = 'stock'")
        ).scalar_one()
    assert basis == pytest.approx(50.0 - (120.0 - 0.65) / 100)


def test_processing_expirations_twice_records_each_event_once(desk: _Desk, engine: Engine) -> None:
    desk.service.execute([_put_decision()], equity=EQUITY)
    store_quote(engine, AT_EXPIRY, 55.0)
    assert desk.expire(EXPIRY) == ["put_expired"]
    assert desk.expire(EXPIRY) == []
    assert desk.count("position_events") == 2


def test_executing_the_same_decisions_twice_places_no_second_order(desk: _Desk) -> None:
    desk.service.execute([_put_decision()], equity=EQUITY)
    [again] = desk.service.execute([_put_decision()], equity=EQUITY)
    assert again.duplicate
    assert (desk.count("orders"), desk.count("fills"), desk.count("position_events")) == (1, 1, 1)


class _TimesOutAfterAccepting:
    """Wraps the paper broker: the first submit reaches it, then the answer is lost."""

    def __init__(self, inner: PaperBroker) -> None:
        self.inner = inner
        self.name, self.live = inner.name, False
        self.submits = 0

    def submit(self, order: OrderRequest) -> OrderState:
        self.submits += 1
        state = self.inner.submit(order)
        if self.submits == 1:
            raise BrokerTimeout("read timed out", provider="paper")
        return state

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_broker_timing_out_after_accepting_gets_no_second_order(engine: Engine) -> None:
    store_quote(engine, DAY1, 52.0, {put_occ(): (1.10, 1.30)})
    flaky = _TimesOutAfterAccepting(PaperBroker(engine, slippage=0.0))
    desk = _Desk(engine, broker=flaky)  # type: ignore[arg-type]
    [outcome] = desk.service.execute([_put_decision()], equity=EQUITY)
    assert outcome.status == "filled"
    assert flaky.submits == 1  # resolved by status(client order id), not re-sent
    assert (desk.count("orders"), desk.count("fills")) == (1, 1)
    assert desk.paper.balances("paper").cash == pytest.approx(EQUITY + 120.0 - 0.65)


def test_a_pending_order_left_by_a_crash_is_resolved_not_duplicated(engine: Engine) -> None:
    store_quote(engine, DAY1, 52.0, {put_occ(): (1.10, 1.30)})

    class _DiesAfterAccepting(_TimesOutAfterAccepting):
        def submit(self, order: OrderRequest) -> OrderState:
            self.inner.submit(order)
            raise BrokerTimeout("connection reset", provider="paper")

        def status(self, client_order_id: str) -> OrderState | None:
            return None  # the status endpoint is down too

    dying = _DiesAfterAccepting(PaperBroker(engine, slippage=0.0))
    with pytest.raises(BrokerTimeout):
        _Desk(engine, broker=dying).service.execute([_put_decision()], equity=EQUITY)  # type: ignore[arg-type]
    restarted = _Desk(engine)
    [outcome] = restarted.service.execute([_put_decision()], equity=EQUITY)
    assert outcome.status == "filled"
    assert restarted.count("orders") == 1
    assert restarted.service.book()[SYMBOL].state is WheelState.SHORT_PUT


def test_risk_check_blocks_an_order_and_records_why(desk: _Desk, engine: Engine) -> None:
    [outcome] = desk.service.execute([_put_decision(quantity=5)], equity=EQUITY)
    assert outcome.status == "rejected"
    assert outcome.reason is not None and outcome.reason.startswith("risk: concentration")
    with engine.connect() as conn:
        status, reason = conn.execute(text("SELECT status, reason FROM orders")).one()
    assert status == "rejected" and "max_symbol_concentration" in reason
    assert desk.paper.status(outcome.client_order_id) is None  # never reached the broker


def test_risk_check_blocks_a_covered_call_without_shares(desk: _Desk) -> None:
    [outcome] = desk.service.execute([_call_decision()], equity=EQUITY)
    assert outcome.reason == "risk: covered call needs a LONG_STOCK wheel"


def test_buying_back_at_the_profit_target_closes_the_cycle_in_cash(
    desk: _Desk, engine: Engine
) -> None:
    desk.service.execute([_put_decision()], equity=EQUITY)
    later = DAY1 + dt.timedelta(days=2)
    store_quote(engine, later, 55.0, {put_occ(): (0.50, 0.60)})
    leg = Leg("buy_to_close", put_occ(), "P", 50.0, EXPIRY, 1, 0.55)
    desk.service.execute([Decision("close", "paper", SYMBOL, later, leg, "50%")], equity=EQUITY)
    assert SYMBOL not in desk.service.book()
    with engine.connect() as conn:
        pnl = conn.execute(text("SELECT realized_pnl FROM wheel_cycles")).scalar_one()
    assert pnl == pytest.approx(120.0 - 55.0 - 1.30)


def test_a_roll_buys_back_then_sells_further_out_in_one_cycle(desk: _Desk, engine: Engine) -> None:
    desk.service.execute([_put_decision()], equity=EQUITY)
    later = DAY1 + dt.timedelta(days=14)
    new = put_occ(48.0, EXPIRY2)
    store_quote(engine, later, 51.0, {put_occ(): (0.10, 0.20), new: (1.00, 1.10)})
    close = Leg("buy_to_close", put_occ(), "P", 50.0, EXPIRY, 1, 0.15)
    open_ = Leg("sell_to_open", new, "P", 48.0, EXPIRY2, 1, 1.05)
    roll = Decision("roll", "paper", SYMBOL, later, close, "roll", open_)
    assert [o.status for o in desk.service.execute([roll], equity=EQUITY)] == ["filled"] * 2
    cycle = desk.service.book()[SYMBOL]
    assert (cycle.state, cycle.option_occ) == (WheelState.SHORT_PUT, new)
    assert cycle.cash_flow == pytest.approx(120.0 - 15.0 + 105.0 - 3 * 0.65)
    assert desk.gap(later) == pytest.approx(0.0, abs=1e-6)


def test_live_broker_refuses_to_trade_unless_live_trading_is_enabled(engine: Engine) -> None:
    settings = load_settings(tradier_account_id="VA000", tradier_sandbox=False, live_trading=False)
    with pytest.raises(LiveTradingDisabled, match="WHEELFLOW_LIVE_TRADING"):
        make_broker("tradier", engine, settings, _config())


def test_paper_is_the_default_broker_and_needs_no_live_flag(engine: Engine) -> None:
    broker = make_broker("paper", engine, load_settings(live_trading=False), _config())
    assert (broker.name, broker.live) == ("paper", False)


def test_a_concurrent_run_that_records_the_order_first_wins(engine: Engine) -> None:
    store_quote(engine, DAY1, 52.0, {put_occ(): (1.10, 1.30)})
    paper = PaperBroker(engine, slippage=0.0)
    other_run = PositionService(engine, paper, _config())

    class _RacedByAnotherRun(_TimesOutAfterAccepting):
        """Another process executes the same decision while this one is risk-checking."""

        def balances(self, account: str) -> Balances:
            if not self.submits:
                self.submits = -1
                other_run.execute([_put_decision()], equity=EQUITY)
            return self.inner.balances(account)

    raced = _RacedByAnotherRun(paper)
    [outcome] = PositionService(engine, raced, _config()).execute([_put_decision()], equity=EQUITY)  # type: ignore[arg-type]
    assert outcome.duplicate and outcome.status == "filled"
    assert _Desk(engine).count("orders") == 1
    assert paper.balances("paper").cash == pytest.approx(EQUITY + 120.0 - 0.65)
