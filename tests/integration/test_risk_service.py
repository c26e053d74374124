"""The risk service on a real database (SQLite and PostgreSQL): figures per account from the
ledger, reports stored per run, limits that block orders, alerts only for real breaches."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, insert

from models.tables import Position, utcnow
from tests.integration.test_api_seed import PASSWORD, api_settings, bearer, login, make_client
from wheelflow import authorization, security
from wheelflow.db import read_frame, transaction, upsert_frame
from wheelflow.execution.paper import PaperBroker
from wheelflow.execution.service import PositionService
from wheelflow.pipeline.decide import apply_risk_checks, raise_alerts
from wheelflow.pipeline.run import RunContext
from wheelflow.risk.guard import PortfolioGuard
from wheelflow.settings import get_settings
from wheelflow.strategy.config import RiskConfig, StrategyConfig
from wheelflow.strategy.decisions import Decision, Leg

SNAPSHOT = dt.datetime(2026, 6, 1, 20, 0)
EXPIRY = dt.date(2026, 6, 19)
PRICES = {"AAA": 40.0, "BBB": 30.0, "CCC": 20.0, "SPY": 500.0}


def _frame(engine: Engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_frame(conn, sql)


def _seed_market(engine: Engine) -> None:
    """A year of bars (AAA and BBB move together, CCC alone) and the snapshot's quotes."""
    rng = np.random.default_rng(11)
    days = pd.bdate_range(end=SNAPSHOT.date(), periods=253).date
    market = rng.normal(0, 0.01, len(days))
    shared = rng.normal(0, 0.015, len(days))
    returns = {
        "SPY": market,
        "AAA": market + shared + rng.normal(0, 0.005, len(days)),
        "BBB": market + shared + rng.normal(0, 0.005, len(days)),
        "CCC": rng.normal(0, 0.02, len(days)),
    }
    bars = []
    for symbol, r in returns.items():
        path = np.cumprod(1.0 + r)
        close = PRICES[symbol] * path / path[-1]
        bars.append(
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "bar_date": days,
                    "open": close,
                    "high": close,
                    "low": close,
                    "close": close,
                    "volume": 1_000_000,
                    "provider": "test",
                }
            )
        )
    quotes = pd.DataFrame(
        {
            "snapshot_at": SNAPSHOT,
            "symbol": list(PRICES),
            "bid": list(PRICES.values()),
            "ask": list(PRICES.values()),
            "last": list(PRICES.values()),
            "prev_close": list(PRICES.values()),
            "volume": 1_000_000,
            "quote_time": SNAPSHOT,
            "provider": "test",
        }
    )
    with transaction(engine) as conn:
        upsert_frame(conn, "price_bars", pd.concat(bars, ignore_index=True))
        upsert_frame(conn, "underlying_quotes", quotes)


def _position(account: str, symbol: str, qty: int, price: float, **option: object) -> dict:
    return {
        "account": account,
        "symbol": symbol,
        "asset_type": "option" if option else "stock",
        "occ_symbol": option.get("occ"),
        "right": option.get("right"),
        "strike": option.get("strike"),
        "expiration": EXPIRY if option else None,
        "quantity": qty,
        "average_price": price,
        "cost_basis": None,
        "status": "open",
        "opened_at": SNAPSHOT - dt.timedelta(days=5),
        "realized_pnl": 0.0,
        "source": "paper",
    }


def _seed_accounts(engine: Engine, paper_cash: float = 50_000.0, demo: bool = True) -> None:
    """``paper``: ledger cash, 200 AAA and two short BBB 28 puts; ``demo`` (when asked): no
    ledger row, 100 CCC bought at 18."""
    now = utcnow()
    with transaction(engine) as conn:
        upsert_frame(
            conn,
            "accounts",
            pd.DataFrame(
                [
                    {
                        "account": "paper",
                        "broker": "paper",
                        "starting_cash": paper_cash,
                        "cash": paper_cash,
                        "created_at": now,
                        "updated_at": now,
                    }
                ]
            ),
        )
        rows = [
            _position("paper", "AAA", 200, 38.0),
            _position("paper", "BBB", -2, 0.9, occ="BBB260619P00028000", right="P", strike=28.0),
        ]
        if demo:
            rows.append(_position("demo", "CCC", 100, 18.0))
        conn.execute(insert(Position), rows)


def _candidate(symbol: str, strike: float, rank: int = 1) -> dict:
    return {
        "strategy": "csp",
        "occ_symbol": f"{symbol}260619P{int(strike * 1000):08d}",
        "rank": rank,
        "underlying": symbol,
        "expiration": EXPIRY,
        "strike": strike,
        "right": "P",
        "underlying_price": PRICES[symbol],
        "bid": 0.5,
        "ask": 0.6,
        "premium": 0.55,
        "days_to_expiry": 18,
        "period_return": 0.02,
        "annualized_return": 0.4,
        "probability_otm": 0.8,
        "delta": -0.2,
        "iv": 0.35,
        "breakeven": strike - 0.55,
        "collateral": strike * 100,
        "spread_pct": 0.18,
        "open_interest": 500,
        "volume": 50,
        "score": 0.3,
        "blocked": False,
        "blocked_reason": None,
    }


def _ctx(engine: Engine, risk: RiskConfig) -> RunContext:
    return RunContext(
        engine=engine,
        settings=get_settings(),
        config=StrategyConfig(risk=risk),
        snapshot_at=SNAPSHOT,
        provider_name="test",
    )


def _alerts(engine: Engine) -> pd.DataFrame:
    return _frame(engine, "SELECT dedup_key, kind, title FROM alerts WHERE kind = 'risk_breach'")


def test_each_account_is_assessed_from_its_own_ledger_and_stored_per_run(engine: Engine) -> None:
    _seed_market(engine)
    _seed_accounts(engine)
    apply_risk_checks(_ctx(engine, RiskConfig()), pd.DataFrame([_candidate("CCC", 18.0)]))
    reports = _frame(engine, "SELECT * FROM risk_reports ORDER BY account").set_index("account")
    paper, demo = reports.loc["paper"], reports.loc["demo"]
    # paper: the ledger's cash, not WHEELFLOW_ACCOUNT_CASH; the puts' collateral is reserved
    assert paper["cash"] == pytest.approx(50_000.0)
    assert paper["put_collateral"] == pytest.approx(2 * 100 * 28.0)
    assert paper["buying_power"] == pytest.approx(50_000.0 - 5_600.0)
    assert paper["stock_at_cost"] == pytest.approx(200 * 38.0)
    assert paper["stock_at_market"] == pytest.approx(200 * 40.0)
    assert paper["equity"] == pytest.approx(50_000 + 8_000 + paper["option_value"])
    assert -200.0 < paper["option_value"] < 0.0  # two short OTM puts are a small liability
    # demo: no ledger, so the screening cash paid for its stock (equity is not overstated)
    assert not demo["has_ledger"]
    assert demo["cash"] == pytest.approx(100_000.0 - 100 * 18.0)
    assert demo["equity"] == pytest.approx(100_000.0 - 1_800.0 + 2_000.0)
    assert paper["var_99_1d"] > paper["var_95_1d"] > 0
    assert paper["var_method"] == "monte_carlo"
    scenarios = _frame(engine, "SELECT * FROM risk_scenarios WHERE account = 'paper'")
    by_name = scenarios.set_index("scenario")
    assert by_name.loc["gap -30%", "pnl"] < by_name.loc["gap -10%", "pnl"] < 0
    assigned = by_name.loc["every short put assigned"]
    assert assigned["kind"] == "buying_power"
    assert "cash after $44,400" in assigned["description"]


def test_a_breach_of_the_portfolio_blocks_the_order_and_raises_one_alert(engine: Engine) -> None:
    _seed_market(engine)
    _seed_accounts(engine)
    # as it stands paper loses about 13 % of its equity in a 30 % gap: above a 5 % limit
    risk = RiskConfig(max_scenario_loss=0.05)
    ctx = _ctx(engine, risk)
    for _ in range(2):  # a re-run of the snapshot does not alert again
        ranked, checks = apply_risk_checks(ctx, pd.DataFrame([_candidate("CCC", 18.0)]))
        raise_alerts(ctx, ranked, checks)
    breach = checks[
        (checks["check_name"] == "worst_scenario_loss") & (checks["subject"] == "paper")
    ]
    assert not bool(breach["passed"].iloc[0])
    alerts = _alerts(engine)
    assert list(alerts["dedup_key"]) == [f"risk:worst_scenario_loss:paper:{SNAPSHOT.date()}"]

    broker = PaperBroker(engine)
    guard = PortfolioGuard(engine, risk, screening_cash=100_000.0)
    guard.prepare(SNAPSHOT, ["AAA", "BBB", "CCC"])
    service = PositionService(engine, broker, StrategyConfig(risk=risk), guard=guard)
    leg = Leg("sell_to_open", "CCC260619P00018000", "P", 18.0, EXPIRY, 1, 0.5)
    decision = Decision("open_put", "paper", "CCC", SNAPSHOT, leg, "test")
    [outcome] = service.execute([decision], equity=58_000.0)
    assert outcome.status == "rejected"
    assert outcome.reason is not None and "worst scenario loss" in outcome.reason
    orders = _frame(engine, "SELECT status, reason FROM orders")
    assert list(orders["status"]) == ["rejected"]


def test_candidates_that_would_breach_are_blocked_without_any_alert(engine: Engine) -> None:
    _seed_market(engine)
    _seed_accounts(engine, demo=False)  # one account: a candidate it cannot take is blocked
    # AAA + the BBB puts are 23.5 % of equity in one cluster; one more BBB put makes 28.5 %
    risk = RiskConfig(max_cluster_exposure=0.25, max_sector_exposure=1.0)
    ctx = _ctx(engine, risk)
    candidates = pd.DataFrame([_candidate("BBB", 29.0), _candidate("CCC", 18.0, rank=2)])
    ranked, checks = apply_risk_checks(ctx, candidates)
    raise_alerts(ctx, ranked, checks)
    portfolio = checks[checks["scope"] == "portfolio"]
    assert portfolio["passed"].all(), portfolio[~portfolio["passed"]]
    blocked = ranked.set_index("underlying")
    assert bool(blocked.loc["BBB", "blocked"])
    assert "paper: cluster exposure" in blocked.loc["BBB", "blocked_reason"]
    assert not bool(blocked.loc["CCC", "blocked"])
    failed = checks[~checks["passed"]]
    assert set(failed["scope"]) == {"candidate"}
    assert _alerts(engine).empty


def test_get_risk_shows_viewers_aggregates_and_traders_the_holdings(
    engine: Engine, tmp_path: Path
) -> None:
    _seed_market(engine)
    _seed_accounts(engine)
    apply_risk_checks(_ctx(engine, RiskConfig()), pd.DataFrame([_candidate("CCC", 18.0)]))
    with transaction(engine) as conn:
        ids = {
            name: security.create_user(conn, name, PASSWORD, role)
            for name, role in (("viewer", "viewer"), ("trader", "trader"), ("outsider", "trader"))
        }
        authorization.add_account_member(conn, "paper", user_id=ids["trader"])  # the trader's own
    with make_client(engine, api_settings(tmp_path)) as client:
        viewer = client.get("/risk", headers=bearer(login(client, "viewer"))).json()
        trader = client.get("/risk", headers=bearer(login(client, "trader"))).json()
        stranger = client.get("/risk", headers=bearer(login(client, "outsider"))).json()
    assert stranger["accounts"] == []  # holdings of accounts a trader does not own stay hidden
    paper = {a["account"]: a for a in viewer["accounts"]}["paper"]
    assert paper["scope"] == "aggregate"
    assert 0 < paper["var_95_1d_pct"] < paper["var_99_1d_pct"] < 1
    assert {s["scenario"] for s in paper["scenarios"]} >= {"gap -20%", "every short put assigned"}
    assert not {"equity", "cash", "holdings", "sectors"} & set(paper)
    assert all(set(s) == {"scenario", "kind", "pnl_pct"} for s in paper["scenarios"])
    full = {a["account"]: a for a in trader["accounts"]}["paper"]
    assert full["cash"] == pytest.approx(50_000.0) and full["var_99_1d"] > 0
    assert {h["symbol"] for h in full["holdings"]} == {"AAA", "BBB"}
    assert full["var_99_1d"] / full["equity"] == pytest.approx(paper["var_99_1d_pct"])
