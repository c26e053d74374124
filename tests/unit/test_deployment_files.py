"""The deployment files hang together: compose, Dockerfile, Prometheus, prefect.yaml, scripts.

No docker engine runs here, so these tests read the files: YAML parses, every path they name
exists in the repository, every service can be restarted or health-checked, the Prometheus
config and rules pass ``promtool`` (when installed) including the alert unit tests.
"""

from __future__ import annotations

import argparse
import glob
import http.server
import importlib.util
import re
import shlex
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deployments"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
PROMETHEUS_DIR = DEPLOY / "prometheus"
PREFECT_YAML = DEPLOY / "prefect.yaml"
REQUIRED_SERVICES = {
    "db",
    "redis",
    "prefect-server",
    "prefect-worker",
    "api",
    "migrate",
    "metrics",
    "prometheus",
    "alertmanager",
    "gateway-init",
    "gateway",
    "loki",
    "promtail",
    "grafana",
}
ONE_SHOT_SERVICES = {"migrate", "gateway-init"}
IMAGE_APP_DIR = "/app/"  # WORKDIR of the image; deployments/ is copied there
IMAGE_SCRIPT = re.compile(r"/app/deployments/[\w./-]+")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _strings(node: Any) -> Iterator[str]:
    """Every string anywhere in a parsed YAML tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


# --------------------------------------------------------------------------- compose


def test_compose_defines_every_service_of_the_stack(services: dict[str, Any]) -> None:
    assert set(services) >= REQUIRED_SERVICES


def test_every_compose_service_has_a_healthcheck_or_a_restart_policy(
    services: dict[str, Any],
) -> None:
    lacking = [n for n, s in services.items() if "healthcheck" not in s and "restart" not in s]
    assert lacking == []


def test_long_running_services_restart_and_report_health(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name in ONE_SHOT_SERVICES:
            continue
        assert service.get("restart") == "unless-stopped", name
        assert service["healthcheck"]["test"], name


def test_migrate_runs_once_and_the_app_services_wait_for_it(services: dict[str, Any]) -> None:
    assert _command(services["migrate"]) == ["wheelflow", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "metrics", "prefect-worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", name


def test_the_database_is_timescaledb_with_a_volume(services: dict[str, Any]) -> None:
    db = services["db"]
    assert db["image"].startswith("timescale/timescaledb:2.")
    assert any(v.startswith("db-data:") for v in db["volumes"])


def test_the_image_init_scripts_are_not_hidden_by_a_directory_mount(
    services: dict[str, Any],
) -> None:
    targets = [v.split(":")[1] for v in services["db"]["volumes"]]
    assert "/docker-entrypoint-initdb.d" not in targets
    assert all(
        not t.startswith("/docker-entrypoint-initdb.d/") or t.endswith(".sql") for t in targets
    )


def test_compose_build_context_and_dockerfile_exist(services: dict[str, Any]) -> None:
    for name, service in services.items():
        build = service.get("build")
        if build:
            context = ROOT / build["context"]
            assert context.is_dir(), name
            assert (context / build["dockerfile"]).is_file(), name


def test_compose_bind_mounts_name_files_that_exist(services: dict[str, Any]) -> None:
    sources = [
        volume.split(":", 1)[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if isinstance(volume, str) and volume.startswith("./")
    ]
    assert sources, "expected the Prometheus config and the db init scripts to be mounted"
    missing = [s for s in sources if not (ROOT / s).exists()]
    assert missing == []


def test_scripts_named_inside_the_image_exist_in_the_repository(
    services: dict[str, Any],
) -> None:
    paths = {word for text in _strings(services) for word in IMAGE_SCRIPT.findall(text)}
    assert paths, "expected healthcheck and worker scripts under /app/deployments"
    missing = [p for p in paths if not (ROOT / p.removeprefix(IMAGE_APP_DIR)).is_file()]
    assert missing == []


def test_no_real_env_file_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", ".env"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert tracked == ""


@pytest.mark.parametrize("service", ["migrate", "metrics", "api"])
def test_wheelflow_commands_of_compose_parse(services: dict[str, Any], service: str) -> None:
    from wheelflow.cli import build_parser

    parser = build_parser()
    argv = _command(services[service])
    assert argv[0] == "wheelflow"
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if argv[1] not in commands.choices:
        pytest.skip(f"`wheelflow {argv[1]}` is not written yet (its owner adds it)")
    args = parser.parse_args(argv[1:])
    assert callable(args.func)


def test_prefect_worker_polls_the_wheelflow_process_pool(services: dict[str, Any]) -> None:
    script = (DEPLOY / "prefect-worker.sh").read_text()
    assert services["prefect-worker"]["environment"]["WHEELFLOW_WORK_POOL"] == "wheelflow"
    assert "--type process" in script
    assert services["prefect-worker"]["stop_signal"] == "SIGINT"


# --------------------------------------------------------------------------- Dockerfile


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def test_dockerfile_builds_on_python_311_slim() -> None:
    bases = [arg.split()[0] for op, arg in _dockerfile_instructions() if op == "FROM"]
    assert bases and all(b == "python:3.11-slim" for b in bases)


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [arg for op, arg in _dockerfile_instructions() if op == "USER"]
    assert users and users[-1] not in {"root", "0"}


def test_dockerfile_has_a_healthcheck_with_an_existing_script() -> None:
    checks = [arg for op, arg in _dockerfile_instructions() if op == "HEALTHCHECK"]
    assert len(checks) == 1
    script = re.search(r"/app/([\w./-]+\.py)", checks[0])
    assert script and (ROOT / script.group(1)).is_file()


def test_dockerfile_copies_only_paths_that_exist() -> None:
    missing = []
    for op, arg in _dockerfile_instructions():
        if op != "COPY" or "--from=" in arg:
            continue
        words = [w for w in arg.split() if not w.startswith("--")]
        for source in words[:-1]:
            if glob.has_magic(source):
                continue  # optional files (README.m[d]) may match nothing
            if not (ROOT / source).exists():
                missing.append(source)
    assert missing == []


def test_dockerignore_keeps_the_virtualenv_and_secrets_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".env", ".git"} <= set(ignored)


# --------------------------------------------------------------------------- Prometheus


@pytest.fixture(scope="module")
def prometheus_config() -> dict[str, Any]:
    return yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())


def test_prometheus_scrapes_the_exporter_and_the_api(
    prometheus_config: dict[str, Any], services: dict[str, Any]
) -> None:
    targets = {
        target
        for job in prometheus_config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert {"metrics:9108", "api:8000"} <= targets
    assert _command(services["metrics"])[-2:] == ["--port", "9108"]


def test_prometheus_rule_files_are_mounted_where_the_config_reads_them(
    prometheus_config: dict[str, Any], services: dict[str, Any]
) -> None:
    mounts = {
        volume.split(":")[1]: volume.split(":")[0]
        for volume in services["prometheus"]["volumes"]
        if volume.startswith("./")
    }
    for rule_file in prometheus_config["rule_files"]:
        assert rule_file in mounts
        assert (ROOT / mounts[rule_file]).is_file()


def test_alert_rules_cover_staleness_quarantine_and_risk() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {"WheelflowPipelineStale", "WheelflowQuarantineSpike", "WheelflowRiskBreach"} <= names


def test_alert_rules_use_only_metrics_the_exporter_exports() -> None:
    from wheelflow import metrics

    documented = set(re.findall(r"``(wheelflow_\w+)", metrics.__doc__ or ""))
    used = set(re.findall(r"\b(wheelflow_\w+)\b", (PROMETHEUS_DIR / "alerts.yml").read_text()))
    assert used <= documented


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return path


def test_promtool_accepts_the_prometheus_config(tmp_path: Path) -> None:
    promtool = _promtool()
    # The config names the in-container rule path; check it against the repository copy.
    config = (PROMETHEUS_DIR / "prometheus.yml").read_text()
    (tmp_path / "alerts.yml").write_text((PROMETHEUS_DIR / "alerts.yml").read_text())
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/etc/prometheus/alerts.yml", str(tmp_path / "alerts.yml"))
    )
    done = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_alert_unit_tests_pass() -> None:
    promtool = _promtool()
    done = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        cwd=PROMETHEUS_DIR,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- prefect.yaml


def test_prefect_yaml_entrypoints_resolve_to_flow_functions() -> None:
    if not PREFECT_YAML.is_file():
        pytest.skip("deployments/prefect.yaml is not written yet (the providers engineer's)")
    from prefect import Flow
    from prefect.flows import load_flow_from_entrypoint

    deployments = yaml.safe_load(PREFECT_YAML.read_text()).get("deployments") or []
    assert deployments, "prefect.yaml declares no deployment"
    for deployment in deployments:
        entrypoint = deployment["entrypoint"]
        path, _, _ = entrypoint.partition(":")
        assert (ROOT / path).is_file(), entrypoint
        flow: object = load_flow_from_entrypoint(str(ROOT / entrypoint))
        assert isinstance(flow, Flow), entrypoint


def test_prefect_yaml_deployments_use_the_wheelflow_work_pool() -> None:
    if not PREFECT_YAML.is_file():
        pytest.skip("deployments/prefect.yaml is not written yet (the providers engineer's)")
    deployments = yaml.safe_load(PREFECT_YAML.read_text()).get("deployments") or []
    pools = {d.get("work_pool", {}).get("name") for d in deployments}
    assert pools == {"wheelflow"}


# --------------------------------------------------------------------------- scripts


@pytest.mark.parametrize(
    ("shell", "script"),
    [("sh", "deployments/prefect-worker.sh"), ("bash", "deployments/timescale/start-timescale.sh")],
)
def test_shell_scripts_parse(shell: str, script: str) -> None:
    done = subprocess.run([shell, "-n", str(ROOT / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def _healthcheck_module() -> Any:
    spec = importlib.util.spec_from_file_location("healthcheck", DEPLOY / "healthcheck.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def local_server() -> Iterator[str]:
    """A loopback HTTP server: /ok answers 200, anything else 503."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/ok" else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_healthcheck_passes_on_a_2xx_answer(local_server: str) -> None:
    assert _healthcheck_module().main(["healthcheck.py", f"{local_server}/ok"]) == 0


def test_healthcheck_fails_on_an_error_status(local_server: str) -> None:
    assert _healthcheck_module().main(["healthcheck.py", f"{local_server}/down"]) == 1


def test_healthcheck_fails_when_nothing_listens() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert _healthcheck_module().main(["healthcheck.py", f"http://127.0.0.1:{port}/", "1"]) == 1
