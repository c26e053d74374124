"""The stack test's Python half (deployments/stack-test.sh runs it; loopback only).

    stack_check.py render         render the compose-mounted configs for loopback into STACK_DIR
    stack_check.py wait-prefect   wait until the Prefect server answers
    stack_check.py check --metrics-pid PID   the end-to-end checks (then stops PID: the failure)

``render`` maps each compose service name to 127.0.0.1 and a port of its own (STACK_PORT_BASE +
offset), each in-container path to a file under STACK_DIR; everything else in the files stays
as compose mounts it. For the test only, Prometheus scrapes and evaluates every 2 s and the
rules' ``for:`` become 0 s, so the induced failure alerts within seconds. Loki has no Debian
package: its scrape job is dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import ssl
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deployments"
STACK = Path(os.environ.get("STACK_DIR", "/tmp/wheelflow-stack"))
BASE = int(os.environ.get("STACK_PORT_BASE", "27000"))
TS_PORT = int(os.environ.get("WHEELFLOW_TIMESCALE_PORT", "5433"))
PORTS = {  # compose address -> loopback port
    "api:8000": BASE + 0,
    "metrics:9108": BASE + 1,
    "prefect-server:4200": BASE + 2,
    "alertmanager:9093": BASE + 3,
    "localhost:9090": BASE + 4,  # Prometheus scraping itself
}
GATEWAY = {"8443": BASE + 10, "9443": BASE + 11, "8080": BASE + 12}
WORKER_HEALTH = BASE + 13
REDIS_DB = 11
TOKEN = "stack-test-alertmanager-token"
UI_PASSWORD = "stack-test-ui-password"
SYMBOLS = ["AAPL", "MSFT", "KO", "PFE", "T", "F"]


def loopback(text: str) -> str:
    for address, port in PORTS.items():
        text = text.replace(address, f"127.0.0.1:{port}")
    return text


def render() -> None:
    STACK.mkdir(parents=True, exist_ok=True)
    db = f"postgresql+psycopg://postgres@127.0.0.1:{TS_PORT}/wheelflow_stack"
    _create_databases()

    prom = yaml.safe_load(loopback((DEPLOY / "prometheus/prometheus.yml").read_text()))
    prom["global"].update(scrape_interval="2s", evaluation_interval="2s")
    prom["rule_files"] = [str(STACK / "alerts.yml")]
    prom["scrape_configs"] = [j for j in prom["scrape_configs"] if j["job_name"] != "loki"]
    (STACK / "prometheus.yml").write_text(yaml.safe_dump(prom))
    rules = (DEPLOY / "prometheus/alerts.yml").read_text()
    (STACK / "alerts.yml").write_text(re.sub(r"(?m)^(\s+for:) \S+$", r"\1 0s", rules))

    am = loopback((DEPLOY / "alertmanager/alertmanager.yml").read_text())
    am = am.replace("/run/secrets/alertmanager_token", str(STACK / "alertmanager_token"))
    am = re.sub(r"group_wait: \S+", "group_wait: 1s", am)
    (STACK / "alertmanager.yml").write_text(am)
    (STACK / "alertmanager_token").write_text(TOKEN)

    nginx = loopback((DEPLOY / "nginx/nginx.conf").read_text())
    nginx = nginx.replace("/etc/nginx/gateway", str(STACK / "gateway"))
    for inside, port in GATEWAY.items():
        nginx = re.sub(rf"listen {inside}\b", f"listen 127.0.0.1:{port}", nginx)
        nginx = nginx.replace(f"$host:{inside}", f"$host:{port}")
    (STACK / "nginx.conf").write_text(nginx)
    (STACK / "logs").mkdir(exist_ok=True)

    env = {
        "WHEELFLOW_DATABASE_URL": db,
        "WHEELFLOW_DATA_DIR": str(STACK / "data"),
        "WHEELFLOW_PROVIDER": "synthetic",
        "WHEELFLOW_ALERTMANAGER_TOKEN": TOKEN,
        "WHEELFLOW_JWT_SECRET": "stack-test-jwt-secret-of-enough-length-0123456789",
        "WHEELFLOW_WEBHOOK_SECRET": "stack-test-webhook-secret",
        "PREFECT_HOME": str(STACK / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{PORTS['prefect-server:4200']}/api",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(PORTS["prefect-server:4200"]),
        "PREFECT_API_DATABASE_CONNECTION_URL": (
            f"postgresql+asyncpg://postgres@127.0.0.1:{TS_PORT}/prefect_stack"
        ),
        "PREFECT_MESSAGING_BROKER": "prefect_redis.messaging",
        "PREFECT_MESSAGING_CACHE": "prefect_redis.messaging",
        "PREFECT_REDIS_MESSAGING_HOST": "127.0.0.1",
        "PREFECT_REDIS_MESSAGING_PORT": "6379",
        "PREFECT_REDIS_MESSAGING_DB": str(REDIS_DB),
        "PREFECT_WORKER_WEBSERVER_PORT": str(WORKER_HEALTH),
        "PREFECT_WORKER_WEBSERVER_HOST": "127.0.0.1",
        "PREFECT_UI_API_URL": f"https://127.0.0.1:{GATEWAY['9443']}/api",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_PASSWORD": UI_PASSWORD,
        "API_PORT": str(PORTS["api:8000"]),
        "METRICS_PORT": str(PORTS["metrics:9108"]),
        "PREFECT_PORT": str(PORTS["prefect-server:4200"]),
        "ALERTMANAGER_PORT": str(PORTS["alertmanager:9093"]),
        "PROMETHEUS_PORT": str(PORTS["localhost:9090"]),
    }
    (STACK / "env.sh").write_text("".join(f"export {k}='{v}'\n" for k, v in env.items()))


def _create_databases() -> None:
    """Fresh wheelflow and Prefect databases on the TimescaleDB test server."""
    from sqlalchemy import create_engine, text

    admin = create_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{TS_PORT}/postgres", isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        for name in ("wheelflow_stack", "prefect_stack"):
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    prefect = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{TS_PORT}/prefect_stack")
    with prefect.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    prefect.dispose()


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 180.0) -> Any:
    started = time.monotonic()
    last: Any = None
    while time.monotonic() - started < timeout:
        try:
            result = probe()
            if result:
                print(f"  ok  {what} ({time.monotonic() - started:.1f} s)", flush=True)
                return result
        except Exception as exc:
            last = exc
        time.sleep(1)
    raise SystemExit(f"stack-test: FAILED waiting for {what} ({timeout:.0f} s): {last}")


def prometheus(query: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{PORTS['localhost:9090']}/api/v1/query"
    body = httpx.get(url, params={"query": query}, timeout=10).json()
    if body["status"] != "success":
        raise RuntimeError(body)
    return list(body["data"]["result"])


def _run_deployment() -> dict[str, Any]:
    """Run the on-demand pipeline deployment through the Prefect API; wait for its end."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    flow_run = run_deployment(
        "wheel_pipeline/wheel-pipeline",
        parameters={"symbols": SYMBOLS},
        timeout=900,
    )
    state = flow_run.state
    assert state is not None
    print(f"  ok  deployment run {flow_run.name}: {state.name}", flush=True)
    if not state.is_completed():
        raise SystemExit(f"stack-test: FAILED pipeline deployment ended {state.name}")
    with get_client(sync_client=True) as client:
        logs = client.read_logs()
    return {"flow_run": str(flow_run.id), "logs": len(logs)}


def check(metrics_pid: int) -> None:
    tls = ssl.create_default_context(cafile=str(STACK / "gateway" / "tls.crt"))
    tls.check_hostname = False

    run = _run_deployment()
    assert run["logs"] > 0, "no log line reached the Prefect server"
    print(f"  ok  {run['logs']} log lines on the Prefect server", flush=True)

    gateway = f"https://127.0.0.1:{GATEWAY['8443']}"
    auth = {"Authorization": f"Bearer {_token(gateway, tls)}"}
    page = httpx.get(f"{gateway}/rankings", headers=auth, verify=tls, timeout=20)
    items = page.raise_for_status().json()["items"]
    assert items, "the gateway served no rankings"
    print(f"  ok  gateway serves /rankings over TLS ({len(items)} rows)", flush=True)
    ui = f"https://127.0.0.1:{GATEWAY['9443']}/api/health"
    assert httpx.get(ui, verify=tls, timeout=10).status_code == 401
    assert httpx.get(ui, verify=tls, auth=("operator", UI_PASSWORD), timeout=10).status_code == 200
    print("  ok  Prefect UI behind basic auth over TLS", flush=True)

    def all_up() -> bool:
        up = prometheus("up")
        jobs = {r["metric"]["job"]: r["value"][1] for r in up}
        return len(jobs) >= 4 and all(v == "1" for v in jobs.values()) and jobs

    jobs = wait_for("every Prometheus target up", all_up, 120)
    print(f"      targets: {sorted(jobs)}", flush=True)

    queries = [
        (path.name, panel["title"], target["expr"])
        for path in sorted((DEPLOY / "grafana/dashboards").glob("*.json"))
        for panel in json.loads(path.read_text())["panels"]
        for target in panel["targets"]
    ]
    wait_for("the API request rate over two scrapes", lambda: prometheus(queries_rate()), 60)
    empty = [(n, t, q) for n, t, q in queries if not prometheus(q)]
    for n, t, q in empty:
        print(f"  --  no data: {n} / {t}: {q}", flush=True)
    if empty:
        raise SystemExit(f"stack-test: FAILED {len(empty)} dashboard queries return no data")
    print(f"  ok  all {len(queries)} dashboard queries return data", flush=True)

    os.kill(metrics_pid, signal.SIGTERM)  # the induced failure: the exporter goes away
    print("  ..  stopped the metrics exporter", flush=True)
    am = f"http://127.0.0.1:{PORTS['alertmanager:9093']}/api/v2/alerts"

    def target_down_in_alertmanager() -> bool:
        alerts = httpx.get(am, timeout=10).json()
        return any(a["labels"].get("alertname") == "WheelflowTargetDown" for a in alerts)

    wait_for("WheelflowTargetDown in Alertmanager", target_down_in_alertmanager, 120)

    def delivered_to_the_api() -> bool:
        alerts = httpx.get(f"{gateway}/alerts", headers=auth, verify=tls, timeout=10).json()
        return any("WheelflowTargetDown" in json.dumps(a) for a in alerts)

    wait_for("the alert delivered to the API's webhook (a wheelflow alert)", delivered_to_the_api)


def queries_rate() -> str:
    return "sum(rate(wheelflow_api_requests_total[1m])) > 0"


def _token(gateway: str, tls: ssl.SSLContext) -> str:
    """An access token for a viewer made with the CLI, logged in through the gateway."""
    import subprocess

    password = "Quartz-Lantern-Vivid-Orbit-4821"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "wheelflow"),
            "users",
            "create",
            "stack",
            "--role",
            "viewer",
            "--password-stdin",
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    answer = httpx.post(
        f"{gateway}/auth/login",
        json={"username": "stack", "password": password},
        verify=tls,
        timeout=20,
    )
    return str(answer.raise_for_status().json()["access_token"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("render")
    sub.add_parser("wait-prefect")
    check_p = sub.add_parser("check")
    check_p.add_argument("--metrics-pid", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command == "render":
        render()
    elif args.command == "wait-prefect":
        url = f"http://127.0.0.1:{PORTS['prefect-server:4200']}/api/health"
        wait_for("the Prefect server", lambda: httpx.get(url, timeout=5).status_code == 200, 240)
    else:
        check(args.metrics_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
