"""Benchmark: ``GET /rankings?limit=50`` next to ``GET /health`` on one uvicorn server.

Creates a fresh PostgreSQL schema seeded with ~5k rankings rows (one latest run of 5,000 plus an
older run), starts ``wheelflow api`` on loopback against it, and runs N concurrent clients (httpx
async, keep-alive, closed loop) for a fixed duration per endpoint. Prints requests/s, p50 and
p99 latency of both and the throughput ratio. Targets: p99 < 50 ms and rankings >= 40 % of
/health throughput.

    .venv/bin/python bench/api.py [--clients 50] [--seconds 10] [--rows 5000]

PostgreSQL: ``WHEELFLOW_TEST_POSTGRES_URL`` or postgresql+psycopg://postgres@127.0.0.1:5432/test.
Client and server share the machine, so the client's CPU counts against the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wheelflow import security  # noqa: E402
from wheelflow.db import ensure_schema, make_engine, transaction, upsert_frame  # noqa: E402
from wheelflow.occ import build_occ_symbols  # noqa: E402

PG_URL = os.environ.get(
    "WHEELFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
JWT_SECRET = "bench-secret-" + "x" * 40


def rankings_frame(rows: int, snapshot_at: dt.datetime, run_id: str) -> pd.DataFrame:
    """``rows`` ranked candidates over 250 underlyings, half csp and half cc (synthetic values)."""
    rng = np.random.default_rng(7)
    i = np.arange(rows)
    underlying = pd.Series([f"S{k:03d}" for k in i % 250])
    strategy = np.where(i % 2 == 0, "csp", "cc")
    right = np.where(strategy == "csp", "P", "C")
    spot = 20 + (i % 250) * 2.0
    strike = np.round(spot * (1 + np.where(right == "P", -1, 1) * (0.02 + (i // 500) * 0.01)), 1)
    expiration = pd.Series(pd.Timestamp("2026-12-18") + pd.to_timedelta((i // 250 % 4) * 7, "D"))
    premium = np.round(spot * rng.uniform(0.004, 0.02, rows), 2)
    dte = 24 + (i // 250 % 4) * 7
    frame = pd.DataFrame(
        {
            "snapshot_at": snapshot_at,
            "strategy": strategy,
            "occ_symbol": build_occ_symbols(
                underlying, expiration, pd.Series(right), pd.Series(strike)
            ),
            "run_id": run_id,
            "underlying": underlying,
            "expiration": expiration.dt.date,
            "strike": strike,
            "right": right,
            "underlying_price": spot,
            "bid": premium - 0.02,
            "ask": premium + 0.02,
            "premium": premium,
            "days_to_expiry": dte,
            "period_return": premium / strike,
            "annualized_return": premium / strike * 365 / dte,
            "probability_otm": rng.uniform(0.6, 0.9, rows),
            "delta": np.where(right == "P", -1, 1) * rng.uniform(0.1, 0.4, rows),
            "iv": rng.uniform(0.15, 0.6, rows),
            "breakeven": strike - premium,
            "collateral": strike * 100,
            "spread_pct": 0.04 / premium,
            "open_interest": rng.integers(10, 5000, rows),
            "volume": rng.integers(0, 2000, rows),
            "score": rng.uniform(0, 1, rows),
            "blocked": False,
        }
    )
    frame = frame.drop_duplicates(["strategy", "occ_symbol"])
    frame["rank"] = frame.groupby("strategy")["score"].rank(ascending=False, method="first")
    frame["rank"] = frame["rank"].astype(int)
    return frame


def seed(url: str, rows: int) -> str:
    """Migrate and seed the schema; return a viewer's access token."""
    engine = make_engine(url)
    ensure_schema(engine)
    with transaction(engine) as conn:
        upsert_frame(
            conn, "rankings", rankings_frame(rows // 5, dt.datetime(2026, 11, 23, 21), "r1")
        )
        upsert_frame(conn, "rankings", rankings_frame(rows, dt.datetime(2026, 11, 24, 21), "r2"))
        user_id = security.create_user(conn, "bench", "bench password", "viewer")
        n = conn.execute(text("SELECT count(*) FROM rankings")).scalar_one()
    engine.dispose()
    print(f"seeded {n} rankings rows ({rows} in the latest run)")
    return security.issue_access_token(
        user_id, "bench", "viewer", secret=JWT_SECRET, lifetime=dt.timedelta(hours=1)
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), to report server CPU per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def load(base: str, path: str, headers: dict[str, str], clients: int, seconds: float):
    """Closed loop: each client sends its next request when the previous answer arrives."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:

        async def worker(deadline: float) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - start)
                if response.status_code != 200:
                    errors += 1

        # warm-up: open the connections and fill caches
        await asyncio.gather(*(worker(time.perf_counter() + 1.0) for _ in range(clients)))
        latencies.clear()
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    lat = np.array(latencies) * 1000
    return {
        "requests": len(lat),
        "rps": len(lat) / elapsed,
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "errors": errors,
    }


async def load_raw(base: str, path: str, headers: dict[str, str], clients: int, seconds: float):
    """The same closed loop over raw asyncio streams: one keep-alive connection per client."""
    host, port = base.removeprefix("http://").split(":")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode()
    latencies: list[float] = []
    errors = 0

    async def worker(deadline: float, record: bool) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                writer.write(request)
                status_and_headers = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in status_and_headers.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                if record:
                    latencies.append(time.perf_counter() - start)
                    errors += not status_and_headers.startswith(b"HTTP/1.1 200")
        finally:
            writer.close()

    await asyncio.gather(*(worker(time.perf_counter() + 1.0, False) for _ in range(clients)))
    started = time.perf_counter()
    await asyncio.gather(*(worker(started + seconds, True) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    lat = np.array(latencies) * 1000
    return {
        "requests": len(lat),
        "rps": len(lat) / elapsed,
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument(
        "--client",
        choices=["httpx", "raw"],
        default="httpx",
        help="httpx.AsyncClient, or a minimal asyncio HTTP/1.1 keep-alive client (less client CPU)",
    )
    args = parser.parse_args()

    schema = f"wf_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    server: subprocess.Popen[bytes] | None = None
    try:
        token = seed(url, args.rows)
        port = free_port()
        env = dict(
            os.environ,
            WHEELFLOW_DATABASE_URL=url,
            WHEELFLOW_JWT_SECRET=JWT_SECRET,
            WHEELFLOW_DATA_DIR=tempfile.mkdtemp(prefix="wf-bench-"),
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "wheelflow", "api", "--port", str(port), "--log-level", "error"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise SystemExit("server did not start")
        auth = {"Authorization": f"Bearer {token}"}
        check = httpx.get(f"{base}/rankings?limit=50", headers=auth, timeout=5).json()
        assert len(check["items"]) == 50, check
        results = {}
        for name, path in (("/health", "/health"), ("/rankings", "/rankings?limit=50")):
            cpu_before = cpu_seconds(server.pid)
            runner = load if args.client == "httpx" else load_raw
            results[name] = asyncio.run(runner(base, path, auth, args.clients, args.seconds))
            # server CPU over the phase, warm-up included
            results[name]["cpu"] = cpu_seconds(server.pid) - cpu_before
        load1, load5, _ = os.getloadavg()
        print(
            f"{args.clients} concurrent {args.client} clients, {args.seconds:.0f} s per endpoint, "
            f"loopback, {os.cpu_count()} CPUs, load average {load1:.1f} / {load5:.1f} (1/5 min)"
        )
        print(
            f"{'endpoint':20s} {'requests':>8s} {'req/s':>7s} {'p50 ms':>7s} {'p99 ms':>7s} "
            "errors  server CPU s"
        )
        for name, r in results.items():
            label = name if name == "/health" else "/rankings?limit=50"
            print(
                f"{label:20s} {r['requests']:8d} {r['rps']:7.0f} {r['p50']:7.1f} {r['p99']:7.1f} "
                f"{r['errors']:6d}  {r['cpu']:12.2f}"
            )
        ratio = results["/rankings"]["rps"] / results["/health"]["rps"]
        p99 = results["/rankings"]["p99"]
        print(f"rankings/health throughput ratio: {ratio:.0%} (target >= 40%)")
        print(f"rankings p99: {p99:.1f} ms (target < 50 ms)")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
