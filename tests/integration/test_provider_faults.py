"""Provider faults end to end: a pipeline run over 100 symbols against a fake Tradier server.

The fake server speaks Tradier's documented JSON (quotes, expirations, chains, history) with the
synthetic market's numbers behind it, and fails calls at random (timeouts, 500, 429 with
``Retry-After: 0``) or always for one symbol. The pipeline and both databases are real.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sqlalchemy import Engine, text

from wheelflow.pipeline import PipelineResult, run_pipeline
from wheelflow.providers.synthetic import SyntheticMarket
from wheelflow.providers.tradier import TradierMarketData
from wheelflow.settings import Settings, load_settings
from wheelflow.strategy.config import parse_strategy_config

TOKEN = "tradier-live-token-DO-NOT-LEAK-7f3a"
N_SYMBOLS = 100
MAX_DAYS = 14  # two or three weekly expirations per symbol keep the run quick


def _ms(ts: pd.Series) -> list[int]:
    # Tradier stamps quotes in epoch milliseconds (resolution-independent arithmetic).
    return ((pd.to_datetime(ts) - pd.Timestamp(0)) // pd.Timedelta(milliseconds=1)).tolist()


class FakeTradier:
    """Serves a synthetic market in Tradier's response shapes (quirks included).

    Every payload is built once up front, so the test measures the client, not the fake.
    """

    def __init__(self, market: SyntheticMarket, max_days: int) -> None:
        self.market = market
        self.symbols = market.symbols
        chains = market.option_chains(self.symbols).chains
        horizon = pd.Timestamp(market.snapshot_time().date() + dt.timedelta(days=max_days))
        chains = chains[chains["expiration"] <= horizon]
        options = pd.DataFrame(
            {
                "symbol": chains["occ_symbol"],
                "underlying": chains["underlying"],
                "expiration_date": chains["expiration"].dt.strftime("%Y-%m-%d"),
                "strike": chains["strike"],
                "option_type": chains["right"].map({"P": "put", "C": "call"}),
                "bid": chains["bid"],
                "ask": chains["ask"],
                "last": chains["last"],
                "volume": chains["volume"].astype(int),
                "open_interest": chains["open_interest"].astype(int),
                "bid_date": _ms(chains["quote_time"]),
                "ask_date": _ms(chains["quote_time"]),
                "contract_size": 100,
                "type": "option",
            }
        )
        self.chains: dict[tuple[str, str], list[dict[str, object]]] = {
            (str(sym), str(exp)): group.to_dict(orient="records")
            for (sym, exp), group in options.groupby(["underlying", "expiration_date"])
        }
        q = market.quotes(self.symbols)
        quotes = pd.DataFrame(
            {
                "symbol": q["symbol"],
                "bid": q["bid"],
                "ask": q["ask"],
                "last": q["last"],
                "prevclose": q["prev_close"],
                "volume": q["volume"].astype(int),
                "trade_date": _ms(q["quote_time"]),
                "bid_date": _ms(q["quote_time"]),
                "ask_date": _ms(q["quote_time"]),
                "type": "stock",
            }
        )
        self.quotes = {r["symbol"]: r for r in quotes.to_dict(orient="records")}
        self.history: dict[tuple[str, str], dict[str, list[dict[str, object]]]] = {}
        self.lock = threading.Lock()

    def quote_payload(self, symbols: list[str]) -> dict[str, object]:
        records = [self.quotes[s] for s in symbols if s in self.quotes]
        # Tradier quirk: one symbol gives an object, not a one-element list.
        return {"quotes": {"quote": records[0] if len(records) == 1 else records}}

    def expirations_payload(self, symbol: str) -> dict[str, object]:
        dates = sorted(exp for (sym, exp) in self.chains if sym == symbol)
        return {"expirations": {"date": dates} if dates else None}

    def chain_payload(self, symbol: str, expiration: str) -> dict[str, object]:
        records = self.chains.get((symbol, expiration))
        return {"options": {"option": records} if records else None}

    def history_payload(self, symbol: str, start: str, end: str) -> dict[str, object]:
        with self.lock:
            if (start, end) not in self.history:
                bars = self.market.price_history(
                    self.symbols, dt.date.fromisoformat(start), dt.date.fromisoformat(end)
                )
                bars = bars.assign(date=bars["bar_date"].dt.strftime("%Y-%m-%d"))
                self.history[(start, end)] = {
                    sym: group[["date", "open", "high", "low", "close", "volume"]].to_dict(
                        orient="records"
                    )
                    for sym, group in bars.groupby("symbol")
                }
        days = self.history[(start, end)].get(symbol)
        return {"history": {"day": days} if days else None}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        path = request.url.path.removeprefix("/v1")
        if path == "/markets/quotes":
            payload = self.quote_payload(params["symbols"].split(","))
        elif path == "/markets/options/expirations":
            payload = self.expirations_payload(params["symbol"])
        elif path == "/markets/options/chains":
            payload = self.chain_payload(params["symbol"], params["expiration"])
        elif path == "/markets/history":
            payload = self.history_payload(params["symbol"], params["start"], params["end"])
        else:
            return httpx.Response(404, json={"error": path})
        return httpx.Response(200, content=json.dumps(payload, default=str).encode())


class Faults:
    """Fails ``rate`` of the calls at random; always fails calls about ``broken`` (if given)."""

    def __init__(
        self, server: Callable[[httpx.Request], httpx.Response], rate: float, broken: str | None
    ) -> None:
        self.server = server
        self.rate = rate
        self.broken = broken
        self.rng = random.Random(20261125)
        self.lock = threading.Lock()
        self.calls = 0
        self.injected = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.calls += 1
            roll, kind = self.rng.random(), self.rng.randrange(3)
        symbol = request.url.params.get("symbol") or request.url.params.get("symbols")
        if self.broken is not None and symbol == self.broken:
            # A misbehaving upstream that echoes the request headers into its error page.
            leak = request.headers.get("Authorization", "")
            return httpx.Response(502, text=f"upstream error for {symbol} ({leak})")
        if roll < self.rate:
            with self.lock:
                self.injected += 1
            if kind == 0:
                raise httpx.ReadTimeout("injected timeout", request=request)
            if kind == 1:
                return httpx.Response(500, text="injected server error")
            return httpx.Response(429, headers={"Retry-After": "0"}, text="slow down")
        return self.server(request)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(seed=11, universe_size=N_SYMBOLS)


@pytest.fixture(scope="module")
def fake_tradier(market: SyntheticMarket) -> FakeTradier:
    return FakeTradier(market, max_days=MAX_DAYS)


def fast_retry_settings() -> Settings:
    """Many retries with tiny backoff: a 30% failure rate must never exhaust them."""
    return load_settings(
        tradier_token=TOKEN,
        provider_retries=10,
        provider_retry_delay_seconds=0.001,
        provider_retry_max_delay_seconds=0.01,
        provider_requests_per_second=1000.0,
        provider_max_concurrency=16,
        provider_max_days_to_expiry=MAX_DAYS,
        seed_demo_positions=False,
    )


def tradier_behind(faults: Faults, market: SyntheticMarket) -> TradierMarketData:
    return TradierMarketData.from_settings(
        fast_retry_settings(), httpx.MockTransport(faults), clock=market.snapshot_time
    )


def run(engine: Engine, market: SyntheticMarket, faults: Faults) -> PipelineResult:
    config = parse_strategy_config(
        {"screening": {"min_underlying_price": 0.01, "max_underlying_price": 1e6}}
    )
    provider = tradier_behind(faults, market)
    return run_pipeline(engine, provider, config, fast_retry_settings(), symbols=market.symbols)


def stored_underlyings(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {
            r[0] for r in conn.execute(text("SELECT DISTINCT underlying FROM option_snapshots"))
        }


def run_details(engine: Engine, run_id: str) -> dict[str, object]:
    with engine.connect() as conn:
        details = conn.execute(
            text("SELECT details FROM pipeline_runs WHERE run_id = :r"), {"r": run_id}
        ).scalar_one()
    return json.loads(details) if isinstance(details, str) else details


def test_thirty_percent_random_faults_still_store_every_symbols_chain(
    engine: Engine, market: SyntheticMarket, fake_tradier: FakeTradier
) -> None:
    faults = Faults(fake_tradier, rate=0.3, broken=None)
    result = run(engine, market, faults)
    assert result.status == "completed"
    assert stored_underlyings(engine) == set(market.symbols)
    details = run_details(engine, result.run_id)
    assert details["chain_failures"] == {}
    assert int(details["provider_retries"]) > 0  # type: ignore[call-overload]
    assert faults.injected > 0.2 * faults.calls


def test_a_permanently_failing_symbol_is_recorded_and_alerted_while_others_complete(
    engine: Engine,
    market: SyntheticMarket,
    fake_tradier: FakeTradier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = market.symbols[7]
    caplog.set_level(logging.INFO)
    result = run(engine, market, Faults(fake_tradier, rate=0.3, broken=broken))
    assert result.status == "completed"
    assert stored_underlyings(engine) == set(market.symbols) - {broken}
    failures = run_details(engine, result.run_id)["chain_failures"]
    assert list(failures) == [broken]  # type: ignore[call-overload]
    assert "HTTP 502" in failures[broken]  # type: ignore[index]
    with engine.connect() as conn:
        alert = conn.execute(
            text("SELECT kind, message FROM alerts WHERE symbol = :s"), {"s": broken}
        ).one()
    assert alert.kind == "fetch_failure"
    assert "HTTP 502" in alert.message


def test_provider_token_never_reaches_logs_run_records_or_alerts(
    sqlite_engine: Engine,
    market: SyntheticMarket,
    fake_tradier: FakeTradier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    broken = market.symbols[3]
    run(sqlite_engine, market, Faults(fake_tradier, rate=0.1, broken=broken))
    assert TOKEN not in caplog.text
    with sqlite_engine.connect() as conn:
        for table in ("pipeline_runs", "alerts", "quarantined_rows", "quality_results"):
            rows = conn.execute(text(f"SELECT * FROM {table}")).fetchall()
            assert TOKEN not in repr(rows), table
        leaked = conn.execute(
            text("SELECT message FROM alerts WHERE symbol = :s"), {"s": broken}
        ).scalar_one()
    assert "***" in leaked


def test_malformed_contract_is_quarantined_with_the_raw_field_named(
    sqlite_engine: Engine, market: SyntheticMarket, fake_tradier: FakeTradier
) -> None:
    key = next(iter(fake_tradier.chains))
    original = fake_tradier.chains[key]
    broken = {**original[0], "bid": "N/A"}
    fake_tradier.chains[key] = [broken, *original[1:]]
    try:
        result = run(sqlite_engine, market, Faults(fake_tradier, rate=0.0, broken=None))
    finally:
        fake_tradier.chains[key] = original
    assert result.status == "completed"
    with sqlite_engine.connect() as conn:
        reasons = conn.execute(
            text("SELECT reasons FROM quarantined_rows WHERE stage = 'chains' AND row_key = :k"),
            {"k": broken["symbol"]},
        ).scalar_one()
    assert "tradier.bid: 'N/A' is not a number" in reasons


@pytest.mark.slow
def test_prefect_flow_run_records_retries_and_the_failed_symbol(
    prefect_harness: None,
    tmp_path: Path,
    market: SyntheticMarket,
    fake_tradier: FakeTradier,
) -> None:
    from flows.pipeline import wheel_pipeline
    from wheelflow.db import make_engine

    symbols = market.symbols[:30]
    broken = symbols[4]
    strategy = tmp_path / "strategy.toml"
    strategy.write_text("[screening]\nmin_underlying_price = 0.01\nmax_underlying_price = 1e6\n")
    url = f"sqlite:///{tmp_path / 'flow.sqlite'}"
    provider = tradier_behind(Faults(fake_tradier, rate=0.3, broken=broken), market)
    wheel_pipeline(
        provider=provider, database_url=url, strategy_file=str(strategy), symbols=symbols
    )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            status, details = conn.execute(text("SELECT status, details FROM pipeline_runs")).one()
        details = json.loads(details) if isinstance(details, str) else details
        assert status == "completed"
        assert list(details["chain_failures"]) == [broken]
        assert details["provider_retries"] > 0
        assert stored_underlyings(engine) == set(symbols) - {broken}
    finally:
        engine.dispose()
