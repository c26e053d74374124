"""Seed data and fixtures shared by the API tests (imported by every ``test_api_*`` module).

The rows are what the pipeline writes: two ranking runs (the older ``run-1``, the latest
``run-2``), an AAPL chain, quotes, positions of one wheel on AAPL and stock on MSFT, a risk check
with one breach, alerts, runs with quality results and a quarantined row, a watchlist. Users
``viewer``/``trader``/``admin`` have the password ``correct horse battery``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, insert, select

from api.app import create_app
from models.auth import User
from models.tables import Alert
from tests.conftest import _fresh_postgres_url
from wheelflow import authorization, passwords, security
from wheelflow.db import ensure_schema, make_engine, transaction, upsert_frame
from wheelflow.occ import occ_symbol
from wheelflow.settings import Settings, load_settings

PASSWORD = "correct horse battery"
WEBHOOK_SECRET = "tv-shared-secret"
SNAP_1 = dt.datetime(2026, 11, 23, 21, 0)
SNAP_2 = dt.datetime(2026, 11, 24, 21, 0)
EXPIRY = dt.date(2026, 12, 18)


def _ranking_rows(snapshot_at: dt.datetime, run_id: str) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for symbol, spot in (("AAPL", 190.0), ("MSFT", 410.0), ("KO", 62.0)):
        for strategy, right, sign in (("csp", "P", -1), ("cc", "C", 1)):
            for i in range(4):
                strike = round(spot * (1 + sign * 0.03 * (i + 1)), 0)
                premium = round(spot * 0.012 / (i + 1), 2)
                rows.append(
                    {
                        "snapshot_at": snapshot_at,
                        "strategy": strategy,
                        "occ_symbol": occ_symbol(symbol, EXPIRY, right, strike),
                        "run_id": run_id,
                        "underlying": symbol,
                        "expiration": EXPIRY,
                        "strike": strike,
                        "right": right,
                        "underlying_price": spot,
                        "bid": premium - 0.05,
                        "ask": premium + 0.05,
                        "premium": premium,
                        "days_to_expiry": 24 + i * 7,
                        "period_return": premium / strike,
                        "annualized_return": premium / strike * 365 / (24 + i * 7),
                        "probability_otm": 0.70 + 0.05 * i,
                        "delta": sign * (0.30 - 0.05 * i),
                        "iv": 0.25,
                        "breakeven": strike - premium if right == "P" else strike + premium,
                        "collateral": strike * 100,
                        "spread_pct": 0.1 / premium,
                        "open_interest": 1200 - 100 * i,
                        "volume": 300 - 20 * i,
                        "score": 1.0 - 0.1 * i,
                        "blocked": False,
                        "blocked_reason": None,
                        "expected_value": 12.0 - 5.0 * i,  # 12, 7, 2, -3 USD per contract
                        "flags": "negative_ev" if i == 3 else None,
                    }
                )
    frame = pd.DataFrame(rows)
    frame["rank"] = frame.groupby("strategy")["score"].rank(ascending=False, method="first")
    frame["rank"] = frame["rank"].astype(int)
    return frame


def _chain_rows() -> pd.DataFrame:
    rows = []
    for right in ("C", "P"):
        for strike in (180.0, 190.0, 200.0):
            mid = max(0.5, abs(190.0 - strike) * 0.5 + 3.0)
            rows.append(
                {
                    "snapshot_at": SNAP_2,
                    "occ_symbol": occ_symbol("AAPL", EXPIRY, right, strike),
                    "underlying": "AAPL",
                    "expiration": EXPIRY,
                    "strike": strike,
                    "right": right,
                    "bid": mid - 0.1,
                    "ask": mid + 0.1,
                    "last": mid,
                    "volume": 500,
                    "open_interest": 2000,
                    "underlying_price": 190.0,
                    "iv": 0.24,
                    "delta": 0.5 if right == "C" else -0.5,
                    "gamma": 0.03,
                    "theta": -0.08,
                    "vega": 0.2,
                    "rho": 0.05,
                    "iv_status": "ok",
                    "provider": "synthetic",
                }
            )
    return pd.DataFrame(rows)


def seed(engine: Engine) -> None:
    """Write one realistic state of every table the API reads."""
    opened = dt.datetime(2026, 11, 2, 15, 30)
    with transaction(engine) as conn:
        upsert_frame(conn, "rankings", _ranking_rows(SNAP_1, "run-1"))
        upsert_frame(conn, "rankings", _ranking_rows(SNAP_2, "run-2"))
        upsert_frame(conn, "option_snapshots", _chain_rows())
        upsert_frame(
            conn,
            "underlying_quotes",
            pd.DataFrame(
                {
                    "snapshot_at": [SNAP_2, SNAP_2],
                    "symbol": ["AAPL", "MSFT"],
                    "last": [190.0, 410.0],
                    "quote_time": [SNAP_2, SNAP_2],
                    "provider": ["synthetic", "synthetic"],
                }
            ),
        )
        put_200 = occ_symbol("AAPL", EXPIRY, "P", 200.0)
        positions = pd.DataFrame(
            [
                # short put sold at 9.00, now mid 8.00: +100 unrealized
                {
                    "id": 1,
                    "account": "paper",
                    "symbol": "AAPL",
                    "asset_type": "option",
                    "occ_symbol": put_200,
                    "right": "P",
                    "strike": 200.0,
                    "expiration": EXPIRY,
                    "quantity": -1,
                    "average_price": 9.0,
                    "status": "open",
                    "opened_at": opened,
                    "realized_pnl": 0.0,
                    "cycle_id": 7,
                    "source": "paper",
                },
                # an earlier put of the same cycle, expired worthless: +150 realized
                {
                    "id": 2,
                    "account": "paper",
                    "symbol": "AAPL",
                    "asset_type": "option",
                    "occ_symbol": occ_symbol("AAPL", dt.date(2026, 11, 20), "P", 185.0),
                    "right": "P",
                    "strike": 185.0,
                    "expiration": dt.date(2026, 11, 20),
                    "quantity": 0,
                    "average_price": 1.5,
                    "status": "closed",
                    "opened_at": opened - dt.timedelta(days=20),
                    "closed_at": dt.datetime(2026, 11, 20, 21, 0),
                    "realized_pnl": 150.0,
                    "cycle_id": 7,
                    "source": "paper",
                },
                # 100 MSFT assigned at 400, last 410: +1000 unrealized
                {
                    "id": 3,
                    "account": "paper",
                    "symbol": "MSFT",
                    "asset_type": "stock",
                    "quantity": 100,
                    "average_price": 400.0,
                    "cost_basis": 396.5,
                    "status": "open",
                    "opened_at": opened,
                    "realized_pnl": 0.0,
                    "source": "paper",
                },
            ]
        )
        positions["cycle_id"] = positions["cycle_id"].astype("Int64")
        upsert_frame(conn, "positions", positions)
        upsert_frame(
            conn,
            "risk_checks",
            pd.DataFrame(
                [
                    {
                        "snapshot_at": SNAP_2,
                        "check_name": "max_symbol_weight",
                        "subject": "MSFT",
                        "run_id": "run-2",
                        "passed": False,
                        "metric_value": 0.41,
                        "limit_value": 0.25,
                        "message": "MSFT is 41% of equity (limit 25%)",
                        "details": {"equity": 100000.0},
                    },
                    {
                        "snapshot_at": SNAP_2,
                        "check_name": "cash_reserve",
                        "subject": "portfolio",
                        "run_id": "run-2",
                        "passed": True,
                        "metric_value": 0.3,
                        "limit_value": 0.1,
                        "message": "cash 30% of equity",
                        "details": None,
                    },
                ]
            ),
        )
        # alerts get their ids from the database, as the pipeline's alert writer does
        conn.execute(
            insert(Alert),
            [
                {
                    "dedup_key": "risk:MSFT:weight:20261124",
                    "created_at": SNAP_2,
                    "snapshot_at": SNAP_2,
                    "kind": "risk_breach",
                    "severity": "critical",
                    "symbol": "MSFT",
                    "title": "MSFT over weight",
                    "message": "MSFT is 41% of equity",
                    "payload": {"limit": 0.25},
                },
                {
                    "dedup_key": "expiry:AAPL:20261124",
                    "created_at": SNAP_2,
                    "snapshot_at": SNAP_2,
                    "kind": "expiry_soon",
                    "severity": "info",
                    "symbol": "AAPL",
                    "title": "AAPL put expires in 24 days",
                    "message": "AAPL 200P",
                    "payload": None,
                },
            ],
        )
        upsert_frame(
            conn,
            "pipeline_runs",
            pd.DataFrame(
                [
                    {
                        "run_id": run_id,
                        "flow_name": "wheel-pipeline",
                        "snapshot_at": snap,
                        "status": "completed",
                        "provider": "synthetic",
                        "started_at": snap,
                        "finished_at": snap + dt.timedelta(seconds=40),
                        "attempts": 1,
                        "n_underlyings": 3,
                        "n_contracts": 600,
                        "n_rankings": 24,
                        "stage_seconds": {"fetch": 12.5, "rank": 1.2},
                    }
                    for run_id, snap in (("run-1", SNAP_1), ("run-2", SNAP_2))
                ]
            ),
        )
        upsert_frame(
            conn,
            "quality_results",
            pd.DataFrame(
                [
                    {
                        "snapshot_at": SNAP_2,
                        "stage": "chains",
                        "batch": "all",
                        "run_id": "run-2",
                        "suite": "option_chain",
                        "success": True,
                        "evaluated_rows": 600,
                        "failed_rows": 3,
                        "bad_fraction": 0.005,
                        "expectations": [
                            {
                                "type": "expect_column_values_to_be_between",
                                "column": "bid",
                                "success": False,
                                "n": 3,
                            }
                        ],
                        "created_at": SNAP_2,
                    },
                ]
            ),
        )
        upsert_frame(
            conn,
            "quarantined_rows",
            pd.DataFrame(
                [
                    {
                        "snapshot_at": SNAP_2,
                        "stage": "chains",
                        "row_key": "KO261218C00070000",
                        "run_id": "run-2",
                        "reasons": "bid > ask",
                        "payload": {"bid": 1.2, "ask": 1.0},
                        "created_at": SNAP_2,
                    },
                ]
            ),
        )
        upsert_frame(
            conn,
            "watchlist",
            pd.DataFrame(
                {
                    "symbol": ["AAPL", "MSFT", "KO"],
                    "active": [True, True, True],
                    "source": ["default"] * 3,
                    "added_at": [SNAP_1] * 3,
                }
            ),
        )
        for role in security.ROLES:
            security.create_user(conn, role, PASSWORD, role)
        # the trader owns the paper account (admins see every account)
        trader_id = conn.execute(select(User.id).where(User.username == "trader")).scalar_one()
        authorization.add_account_member(conn, "paper", user_id=trader_id)


def api_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "jwt_secret": "test-jwt-secret-0123456789abcdef0123456789",
        "webhook_secret": WEBHOOK_SECRET,
        "login_rate_per_minute": 1000,
        "login_account_failures": 1000,
        "webhook_rate_per_minute": 1000,
        "live_poll_seconds": 0,  # the live watcher is tested on its own (test_dashboard_live.py)
    }
    values.update(overrides)
    return load_settings(**values)


def make_client(engine: Engine, settings: Settings, **kwargs: Any) -> TestClient[Litestar]:
    return TestClient(create_app(settings, engine, **kwargs))


def login(client: TestClient[Litestar], username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> Iterator[None]:
    """Real argon2id, at test-sized cost (production: ~0.45 s per hash on these machines)."""
    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    passwords._hasher = production


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def shared_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One migrated, seeded database per module and backend, for tests that only read
    (or write rows no other test of the module looks at)."""
    cleanup: Iterator[str] | None = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'wheelflow.sqlite'}"
    else:
        cleanup = _fresh_postgres_url()
        url = next(cleanup)
    eng = make_engine(url)
    ensure_schema(eng)
    seed(eng)
    yield eng
    eng.dispose()
    if cleanup is not None:
        next(cleanup, None)


@pytest.fixture(scope="module")
def shared_client(
    shared_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient[Litestar]]:
    settings = api_settings(tmp_path_factory.mktemp("api-data"))
    with make_client(shared_engine, settings) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def shared_roles(shared_client: TestClient[Litestar]) -> dict[str, dict[str, str]]:
    return {role: bearer(login(shared_client, role)) for role in security.ROLES}


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    seed(engine)
    return engine


@pytest.fixture
def client(seeded: Engine, tmp_path: Path) -> Iterator[TestClient[Litestar]]:
    with make_client(seeded, api_settings(tmp_path)) as test_client:
        yield test_client


@pytest.fixture
def as_role(client: TestClient[Litestar]) -> dict[str, dict[str, str]]:
    """Authorization headers per role, from a real login of each seeded user."""
    return {role: bearer(login(client, role)) for role in security.ROLES}
