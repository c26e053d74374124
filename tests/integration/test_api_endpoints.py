# ruff: noqa: F811  (pytest fixtures imported from test_api_seed are parameters here)
"""What each read endpoint returns over seeded pipeline tables (SQLite and PostgreSQL)."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    SNAP_2,
    fast_password_hashing,
    shared_client,
    shared_engine,
    shared_roles,
)


@pytest.fixture
def client(shared_client):
    return shared_client


@pytest.fixture
def as_role(shared_roles):
    return shared_roles


@pytest.fixture
def seeded(shared_engine):
    return shared_engine


def test_health_answers_without_authentication(client):
    assert client.get("/health").json() == {"status": "ok"}


def test_metrics_serve_request_counters_to_prometheus_without_authentication(client):
    client.get("/health")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "wheelflow_api_requests_total{" in response.text
    assert 'path="/health"' in response.text


def test_ready_reports_database_and_last_run_age(client):
    body = client.get("/ready").json()
    assert body["database"] == "ok"
    assert body["last_run"]["run_id"] == "run-2"
    assert body["last_run"]["age_seconds"] > 0


def test_rankings_default_to_the_latest_run_ordered_by_strategy_and_rank(client, as_role):
    body = client.get("/rankings", headers=as_role["viewer"]).json()
    assert body["run_id"] == "run-2"
    assert body["snapshot_at"].startswith(SNAP_2.isoformat())
    keys = [(r["strategy"], r["rank"]) for r in body["items"]]
    assert keys == sorted(keys)
    assert len(keys) == 24


def test_rankings_of_an_older_run_by_run_id(client, as_role):
    body = client.get("/rankings?run_id=run-1", headers=as_role["viewer"]).json()
    assert {r["run_id"] for r in body["items"]} == {"run-1"}


def test_rankings_filters_combine(client, as_role):
    url = "/rankings?strategy=csp&symbol=aapl&max_delta=0.25&min_dte=30&max_dte=40"
    items = client.get(url, headers=as_role["viewer"]).json()["items"]
    assert items
    for row in items:
        assert row["strategy"] == "csp" and row["underlying"] == "AAPL"
        assert abs(row["delta"]) <= 0.25 and 30 <= row["days_to_expiry"] <= 40


def test_rankings_min_return_filters_annualized_return(client, as_role):
    items = client.get("/rankings?min_return=0.15", headers=as_role["viewer"]).json()["items"]
    assert items and all(r["annualized_return"] >= 0.15 for r in items)


def test_rankings_min_ev_and_unflagged_filter_on_expected_value(client, as_role):
    items = client.get("/rankings?min_ev=5", headers=as_role["viewer"]).json()["items"]
    assert len(items) == 12 and all(r["expected_value"] >= 5 for r in items)
    clean = client.get("/rankings?unflagged=true", headers=as_role["viewer"]).json()["items"]
    assert len(clean) == 18 and all(r["flags"] is None for r in clean)
    assert all(r["expected_value"] >= 0 for r in clean)


def test_rankings_cursor_pages_cover_every_row_once(client, as_role):
    seen, cursor = [], None
    while True:
        url = "/rankings?limit=5" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=as_role["viewer"]).json()
        seen += [(r["strategy"], r["occ_symbol"]) for r in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 24


def test_rankings_as_csv_and_parquet(client, as_role):
    csv = client.get("/rankings?format=csv&limit=10", headers=as_role["viewer"])
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(pd.read_csv(io.StringIO(csv.text))) == 10
    parquet = client.get("/rankings?format=parquet&limit=7", headers=as_role["viewer"])
    frame = pd.read_parquet(io.BytesIO(parquet.content))
    assert len(frame) == 7 and "annualized_return" in frame.columns
    assert parquet.headers["x-next-cursor"]


def test_rankings_unknown_run_id_is_404(client, as_role):
    response = client.get("/rankings?run_id=nope", headers=as_role["viewer"])
    assert response.status_code == 404


def test_chain_returns_latest_snapshot_with_greeks_filtered_by_right(client, as_role):
    body = client.get("/chains/AAPL?right=P", headers=as_role["viewer"]).json()
    assert body["symbol"] == "AAPL"
    assert len(body["contracts"]) == 3
    assert all(c["right"] == "P" and c["theta"] == -0.08 for c in body["contracts"])


def test_chain_of_unknown_symbol_is_404(client, as_role):
    assert client.get("/chains/ZZZZ", headers=as_role["viewer"]).status_code == 404


def test_positions_filter_open(client, as_role):
    rows = client.get("/positions?status=open", headers=as_role["trader"]).json()
    assert sorted(r["id"] for r in rows) == [1, 3]


def test_position_by_id_and_missing_one(client, as_role):
    assert client.get("/positions/3", headers=as_role["trader"]).json()["symbol"] == "MSFT"
    assert client.get("/positions/999", headers=as_role["trader"]).status_code == 404


def test_pnl_marks_open_positions_at_latest_quotes(client, as_role):
    body = client.get("/pnl", headers=as_role["trader"]).json()
    by_symbol = {s["symbol"]: s for s in body["symbols"]}
    # AAPL: short 200P sold at 9.00, mid now 8.00 -> +100; the expired put realized +150
    assert by_symbol["AAPL"]["unrealized"] == 100.0
    assert by_symbol["AAPL"]["realized"] == 150.0
    # MSFT: 100 shares at 400, last 410 -> +1000
    assert by_symbol["MSFT"]["unrealized"] == 1000.0
    assert body["total"] == {
        "realized": 150.0,
        "unrealized": 1100.0,
        "total": 1250.0,
        "unmarked_positions": 0,
    }


def test_wheel_cycles_come_from_the_lifecycle_table(client, as_role, seeded):
    import datetime as dt

    from sqlalchemy import insert

    from models.lifecycle import WheelCycleRow
    from wheelflow.db import transaction

    opened = dt.datetime(2026, 11, 2, 15, 30)
    with transaction(seeded) as conn:
        conn.execute(
            insert(WheelCycleRow).values(
                account="paper",
                symbol="AAPL",
                state="SHORT_PUT",
                is_open=True,
                contracts=1,
                option_occ="AAPL261218P00200000",
                option_strike=200.0,
                premium_collected=1050.0,
                realized_pnl=150.0,
                opened_at=opened,
                updated_at=opened,
            )
        )
    body = client.get("/wheel-cycles?symbol=AAPL&is_open=true", headers=as_role["trader"]).json()
    assert body["source"] == "wheel_cycles"
    assert [(c["state"], c["premium_collected"]) for c in body["cycles"]] == [("SHORT_PUT", 1050.0)]
    closed = client.get("/wheel-cycles?is_open=false", headers=as_role["trader"]).json()
    assert closed["cycles"] == []


def test_cycles_derived_from_positions_group_legs_by_cycle_id(seeded):
    from wheelflow import queries

    with seeded.connect() as conn:
        cycles = {c["cycle"]: c for c in queries.derived_wheel_cycles(conn)}
    assert cycles["7"]["legs"] == 2 and cycles["7"]["open_legs"] == 1
    assert cycles["7"]["realized_pnl"] == 150.0 and cycles["7"]["closed_at"] is None
    assert cycles["symbol:MSFT"]["legs"] == 1


def test_risk_lists_checks_and_breaches_of_latest_snapshot_to_traders(client, as_role):
    body = client.get("/risk", headers=as_role["trader"]).json()
    assert body["passed"] is False
    assert [b["check_name"] for b in body["breaches"]] == ["max_symbol_weight"]
    assert len(body["checks"]) == 2


def test_alerts_filter_by_severity_and_symbol(client, as_role):
    rows = client.get("/alerts?severity=critical", headers=as_role["viewer"]).json()
    assert [a["symbol"] for a in rows] == ["MSFT"]
    rows = client.get("/alerts?symbol=AAPL", headers=as_role["viewer"]).json()
    assert [a["kind"] for a in rows] == ["expiry_soon"]


def test_alerts_since_excludes_older(client, as_role):
    rows = client.get("/alerts?since=2026-11-25T00:00:00Z", headers=as_role["viewer"]).json()
    assert rows == []


def test_acknowledging_an_alert_records_who_and_keeps_the_first(client, as_role):
    alert_id = client.get("/alerts?severity=critical", headers=as_role["viewer"]).json()[0]["id"]
    first = client.post(f"/alerts/{alert_id}/ack", headers=as_role["trader"]).json()
    again = client.post(f"/alerts/{alert_id}/ack", headers=as_role["admin"]).json()
    assert first["acknowledged_by"] == "trader"
    assert again["acknowledged_at"] == first["acknowledged_at"]
    assert again["acknowledged_by"] == "trader"


def test_watchlist_add_validates_and_delete_removes(client, as_role):
    created = client.post("/watchlist", json={"symbol": "nvda"}, headers=as_role["trader"])
    assert created.status_code == 201 and created.json()["symbol"] == "NVDA"
    again = client.post("/watchlist", json={"symbol": "NVDA"}, headers=as_role["trader"])
    assert again.status_code == 200
    bad = client.post("/watchlist", json={"symbol": "NV DA!"}, headers=as_role["trader"])
    assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "symbol"
    assert client.delete("/watchlist/NVDA", headers=as_role["trader"]).status_code == 204
    symbols = [w["symbol"] for w in client.get("/watchlist", headers=as_role["viewer"]).json()]
    assert symbols == ["AAPL", "KO", "MSFT"]
    assert client.delete("/watchlist/NVDA", headers=as_role["trader"]).status_code == 404


def test_runs_carry_quality_results_and_quarantine_counts(client, as_role):
    runs = client.get("/runs", headers=as_role["viewer"]).json()
    assert [r["run_id"] for r in runs] == ["run-2", "run-1"]
    assert runs[0]["quality_results"][0]["failed_rows"] == 3
    assert runs[0]["quarantined_rows"] == 1 and runs[1]["quarantined_rows"] == 0


def test_preferences_round_trip_per_user(client, as_role):
    prefs = {"default_strategy": "csp", "max_delta": 0.3, "alert_channels": ["email"]}
    saved = client.put("/auth/me/preferences", json=prefs, headers=as_role["trader"])
    assert saved.status_code == 200
    assert client.get("/auth/me/preferences", headers=as_role["trader"]).json()["max_delta"] == 0.3
    assert client.get("/auth/me/preferences", headers=as_role["viewer"]).json() == {}


def _publish_run_3(engine) -> None:
    import datetime as dt

    from tests.integration.test_api_seed import _ranking_rows
    from wheelflow.db import transaction, upsert_frame

    snap = dt.datetime(2026, 11, 25, 21)
    run = {  # readers serve a run's rankings once its run completed
        "run_id": "run-3",
        "flow_name": "wheel_pipeline",
        "snapshot_at": snap,
        "status": "completed",
        "provider": "synthetic",
        "started_at": snap,
        "finished_at": snap,
        "attempts": 1,
    }
    with transaction(engine) as conn:
        upsert_frame(conn, "rankings", _ranking_rows(snap, "run-3"))
        upsert_frame(conn, "pipeline_runs", pd.DataFrame([run]))


@pytest.mark.parametrize(("cache_seconds", "seen_run"), [(0, "run-3"), (60, "run-2")])
def test_rankings_cache_lags_a_new_run_by_at_most_its_lifetime(
    engine, tmp_path, cache_seconds, seen_run
):
    from tests.integration.test_api_seed import api_settings, bearer, login, make_client, seed

    seed(engine)
    settings = api_settings(tmp_path, api_cache_seconds=cache_seconds)
    with make_client(engine, settings) as fresh:
        headers = bearer(login(fresh, "viewer"))
        assert fresh.get("/rankings", headers=headers).json()["run_id"] == "run-2"
        _publish_run_3(engine)
        assert fresh.get("/rankings", headers=headers).json()["run_id"] == seen_run
        anonymous = fresh.get("/rankings")
    assert anonymous.status_code == 401  # a cached page is still behind authentication


def test_ready_and_reads_answer_503_when_the_database_is_down(tmp_path):
    from tests.integration.test_api_seed import api_settings, make_client
    from wheelflow.db import make_engine

    unreachable = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    with make_client(unreachable, api_settings(tmp_path)) as down:
        assert down.get("/ready").status_code == 503
        response = down.get("/rankings", headers={"X-API-Key": "wfk_anything"})
    assert response.status_code == 503
    assert response.json()["detail"] == "database unavailable, retry later"
