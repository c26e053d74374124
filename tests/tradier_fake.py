"""A fake Tradier for pipeline tests: the synthetic market served in Tradier's documented JSON
(quotes, expirations, chains, history), faults injected at will, through httpx.MockTransport or
a local HTTP server (for entry points that build their provider from settings, like the CLI).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pandas as pd

from wheelflow.providers.synthetic import SyntheticMarket


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
        payload: object
        if path == "/markets/quotes":
            payload = self.quote_payload(params["symbols"].split(","))
        elif path == "/markets/options/expirations":
            payload = self.expirations_payload(params["symbol"])
        elif path == "/markets/options/chains":
            payload = self.chain_payload(params["symbol"], params["expiration"])
        elif path == "/beta/markets/fundamentals/dividends":
            # No announced dividends: one entry per requested symbol with empty results.
            payload = [
                {"request": sym, "type": "Symbol", "results": []}
                for sym in params["symbols"].split(",")
            ]
        elif path == "/markets/history":
            payload = self.history_payload(params["symbol"], params["start"], params["end"])
        else:
            return httpx.Response(404, json={"error": path})
        return httpx.Response(200, content=json.dumps(payload, default=str).encode())


class Faults:
    """Fails ``rate`` of the calls at random; always fails calls about ``broken`` (if given), or
    every option call with ``chains_down``."""

    def __init__(
        self,
        server: Callable[[httpx.Request], httpx.Response],
        rate: float,
        broken: str | None,
        *,
        chains_down: bool = False,
    ) -> None:
        self.server = server
        self.rate = rate
        self.broken = broken
        self.chains_down = chains_down
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
        if self.chains_down and "/options/" in request.url.path:
            return httpx.Response(503, text="options service unavailable")
        if roll < self.rate:
            with self.lock:
                self.injected += 1
            if kind == 0:
                raise httpx.ReadTimeout("injected timeout", request=request)
            if kind == 1:
                return httpx.Response(500, text="injected server error")
            return httpx.Response(429, headers={"Retry-After": "0"}, text="slow down")
        return self.server(request)


@contextmanager
def served(app: Callable[[httpx.Request], httpx.Response]) -> Iterator[str]:
    """Serve ``app`` (a MockTransport handler) on 127.0.0.1; yields the base URL (``.../v1``)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            request = httpx.Request(
                "GET", f"http://127.0.0.1{self.path}", headers=dict(self.headers)
            )
            try:
                response = app(request)
            except httpx.TimeoutException:
                self.close_connection = True
                return
            body = response.content
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in {"content-length", "transfer-encoding"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
