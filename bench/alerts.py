"""Alert fan-out: N alerts x C channels through the in-process outbox and through RabbitMQ.

    .venv/bin/python bench/alerts.py [--alerts 10000] [--channels 3] [--workers 2]
                                      [--database sqlite|postgresql] [--skip-rabbitmq]

Both paths start from the same producer: alerts are stored in transactions of 100 (as pipeline
stages write them), each with its deliveries in the outbox. The receiver is a separate process on
loopback (a threaded ``http.server`` answering Apprise's ``json://`` POSTs) that stamps each
arrival. End-to-end latency = arrival - the start of the transaction that stored the alert.

- in-process: the producer runs in a thread while the main thread loops ``dispatch_due``
  (16 send threads), as the embedded default does after a run;
- RabbitMQ: the producer publishes each committed batch to the topic exchange; ``--workers``
  ``wheelflow notify`` processes consume it (private exchange and queue, deleted afterwards).

Prints deliveries/s, p50/p99 latency and the CPU seconds of each process (the machine has two
cores; receiver, producer, dispatcher and broker share them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._db import drop_database, fresh_database  # noqa: E402

AMQP_URL = os.environ.get("WHEELFLOW_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


# --------------------------------------------------------------------------- receiver process


def serve_receiver(port_file: str) -> None:
    arrivals: dict[str, float] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            at = time.time()
            title = json.loads(raw).get("title", "")
            with lock:
                arrivals.setdefault(f"{self.path} {title}", at)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                body = json.dumps(arrivals).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- the runs


def produce(engine: object, n: int, tag: str, commits: dict[str, float]) -> None:
    import datetime as dt

    from wheelflow.alerts.rules import quality_alert
    from wheelflow.alerts.store import store_new_alerts

    snapshot = dt.datetime(2026, 12, 2, 15, 0)
    for start in range(0, n, 100):
        batch = [
            quality_alert("bench", f"{tag}-{i}", snapshot, "fan-out benchmark")
            for i in range(start, min(n, start + 100))
        ]
        at = time.time()  # latency counts from the store call: commit, publish, dispatch, send
        store_new_alerts(engine, batch)  # type: ignore[arg-type]
        for alert in batch:
            commits[alert["title"]] = at


def arrivals(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as response:
        return dict(json.loads(response.read()))


def wait_for(port: int, prefix: str, total: int, timeout: float) -> dict[str, float]:
    """The arrivals at paths starting with ``prefix``, once there are ``total`` (or at timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        got = {k: v for k, v in arrivals(port).items() if k.startswith(prefix)}
        if len(got) >= total or time.monotonic() > deadline:
            return got
        time.sleep(0.25)


def summarise(name: str, got: dict[str, float], commits: dict[str, float], total: int) -> dict:
    import numpy as np

    got = {k: v for k, v in got.items() if k.split(" ", 1)[1] in commits}
    latencies = np.array([at - commits[key.split(" ", 1)[1]] for key, at in got.items()])
    first_commit = min(commits.values())
    span = max(got.values()) - first_commit
    return {
        "path": name,
        "deliveries": len(got),
        "expected": total,
        "seconds": span,
        "per_second": len(got) / span,
        "p50_ms": float(np.percentile(latencies, 50) * 1000),
        "p99_ms": float(np.percentile(latencies, 99) * 1000),
    }


def run_in_process(args: argparse.Namespace, port: int, urls: str, tmp: Path) -> dict:
    from wheelflow.alerts.delivery import dispatch_due
    from wheelflow.db import ensure_schema, make_engine
    from wheelflow.settings import get_settings

    url, handle = fresh_database(args.database, tmp)
    os.environ.update(WHEELFLOW_ALERT_URLS=urls, WHEELFLOW_DATABASE_URL=url)
    os.environ.pop("WHEELFLOW_AMQP_URL", None)
    get_settings.cache_clear()
    settings = get_settings()
    engine = make_engine(url)
    ensure_schema(engine)
    total = args.alerts * args.channels
    commits: dict[str, float] = {}
    cpu0 = time.process_time()
    producer = threading.Thread(target=produce, args=(engine, args.alerts, "inproc", commits))
    producer.start()
    delivered = 0
    deadline = time.monotonic() + args.timeout
    while delivered < total and time.monotonic() < deadline:
        done = dispatch_due(engine, settings, batch=500)
        delivered += done.delivered
        if not done.delivered:
            time.sleep(0.01)
    producer.join()
    result = summarise(
        "in-process outbox", wait_for(port, "/in-process", total, 30), commits, total
    )
    result["cpu"] = {"producer+dispatcher": time.process_time() - cpu0}
    engine.dispose()
    drop_database(handle)
    return result


def run_rabbitmq(args: argparse.Namespace, port: int, urls: str, tmp: Path) -> dict:
    import pika

    from wheelflow.db import ensure_schema, make_engine
    from wheelflow.settings import get_settings

    url, handle = fresh_database(args.database, tmp)
    tag = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "WHEELFLOW_ALERT_URLS": urls,
        "WHEELFLOW_DATABASE_URL": url,
        "WHEELFLOW_AMQP_URL": AMQP_URL,
        "WHEELFLOW_AMQP_EXCHANGE": f"wf-bench-{tag}",
        "WHEELFLOW_AMQP_QUEUE": f"wf-bench-notify-{tag}",
    }
    os.environ.update(env)
    get_settings.cache_clear()
    engine = make_engine(url)
    ensure_schema(engine)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "wheelflow", "notify", "--batch", "200", "--sweep-seconds", "5"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp / f"worker-{i}.log").open("wb"),
        )
        for i in range(args.workers)
    ]
    time.sleep(3.0)  # workers import and declare the queue before the first publish
    total = args.alerts * args.channels
    commits: dict[str, float] = {}
    cpu0 = time.process_time()
    try:
        produce(engine, args.alerts, "amqp", commits)
        producer_cpu = time.process_time() - cpu0
        got = wait_for(port, "/rabbitmq", total, args.timeout)
        cpu = {f"worker {i}": cpu_seconds(w.pid) for i, w in enumerate(workers)}
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
    result = summarise(f"RabbitMQ, {args.workers} workers", got, commits, total)
    result["cpu"] = {"producer (publish)": producer_cpu, **cpu}
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.queue_delete(env["WHEELFLOW_AMQP_QUEUE"])
    channel.exchange_delete(env["WHEELFLOW_AMQP_EXCHANGE"])
    connection.close()
    engine.dispose()
    drop_database(handle)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--skip-rabbitmq", action="store_true")
    parser.add_argument("--serve-receiver", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_receiver:
        serve_receiver(args.serve_receiver)
        return

    os.environ.setdefault("DO_NOT_TRACK", "1")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        os.environ["WHEELFLOW_DATA_DIR"] = str(tmp / "data")
        port_file = tmp / "port"
        receiver = subprocess.Popen([sys.executable, __file__, "--serve-receiver", str(port_file)])
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        port = int(port_file.read_text())
        results = []
        try:
            for path in ("in-process",) + (() if args.skip_rabbitmq else ("rabbitmq",)):
                urls = ",".join(f"json://127.0.0.1:{port}/{path}-{c}" for c in range(args.channels))
                receiver_cpu = cpu_seconds(receiver.pid)
                run = run_in_process if path == "in-process" else run_rabbitmq
                result = run(args, port, urls, tmp)
                result["cpu"]["receiver"] = cpu_seconds(receiver.pid) - receiver_cpu
                results.append(result)
        finally:
            receiver.terminate()
            receiver.wait()

    print(
        f"\n{args.alerts:,} alerts x {args.channels} channels = "
        f"{args.alerts * args.channels:,} deliveries, {args.database}, receiver: threaded "
        f"http.server (separate process), client: Apprise json:// over loopback\n"
    )
    print(f"{'path':<24}{'delivered':>11}{'seconds':>9}{'deliv/s':>9}{'p50 ms':>9}{'p99 ms':>10}")
    for r in results:
        print(
            f"{r['path']:<24}{r['deliveries']:>11,}{r['seconds']:>9.1f}{r['per_second']:>9.0f}"
            f"{r['p50_ms']:>9.0f}{r['p99_ms']:>10.0f}"
        )
    for r in results:
        cpu = ", ".join(f"{k} {v:.1f} s" for k, v in r["cpu"].items())
        print(f"CPU ({r['path']}): {cpu}")


if __name__ == "__main__":
    main()
