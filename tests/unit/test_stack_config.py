"""The production stack's files are valid and agree with each other, checked offline.

- docker-compose.yml against the Compose Specification JSON schema (check-jsonschema's vendored
  copy), and its references: every ``${VAR}`` documented in .env.example, every mounted file
  present, every image pinned, every service limited; every address another config names
  (Prometheus targets, Alertmanager's webhook, nginx upstreams, Grafana data sources) is a
  compose service and a port that service listens on.
- The Kubernetes manifests against the Kubernetes schemas (kubernetes-validate, strict): probes
  on /health and /ready, resource requests, secrets from Secret objects, no CronJob.
- Grafana dashboards: every panel's PromQL parses (promtool) and names only exported metrics.
- Alertmanager (amtool) and nginx (``nginx -t``) accept their configs, when installed.
- The gateway's certificate/htpasswd preparation works.
- The Python lock file pins every dependency of pyproject.toml and the Dockerfile installs it.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deployments"
COMPOSE_FILE = ROOT / "docker-compose.yml"
K8S = DEPLOY / "k8s"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
BIN = Path(sys.executable).parent


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    return _load(COMPOSE_FILE)["services"]


def _module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def listening_ports(service: dict[str, Any]) -> set[int]:
    """Ports a compose service listens on, as its own config says: ``--port N`` in the command,
    the port of its healthcheck URL or TCP probe, the container side of published ports."""
    text = json.dumps(
        [service.get("command", []), service.get("healthcheck", {}), service.get("environment")]
    )
    ports = {int(p) for p in re.findall(r"--port\D+(\d+)", text)}
    ports |= {int(p) for p in re.findall(r"_PORT\W+(\d+)", text)}
    ports |= {int(p) for p in re.findall(r"127\.0\.0\.1[:/](\d+)", text)}
    for mapping in service.get("ports", []):
        ports.add(int(str(mapping).rsplit(":", 1)[-1]))
    return ports


def assert_service_address(services: dict[str, Any], address: str) -> None:
    host, _, port = address.partition(":")
    assert host in services, f"{address}: no compose service {host!r}"
    assert int(port) in listening_ports(services[host]), f"{address}: {host} does not listen there"


# --------------------------------------------------------------------------- compose


def test_compose_file_is_valid_against_the_compose_specification_schema() -> None:
    done = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(COMPOSE_FILE),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_compose_variable_is_documented_in_env_example() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    documented = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.M))
    assert used, "expected ${VAR} substitutions"
    assert used - documented == set()


def test_every_mounted_file_exists(services: dict[str, Any]) -> None:
    sources = [
        volume.split(":", 1)[0]
        for service in services.values()
        for volume in service.get("volumes", [])
        if volume.startswith("./")
    ]
    assert len(sources) >= 8
    assert [s for s in sources if not (ROOT / s).exists()] == []


def test_every_image_is_pinned_to_a_version(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest", f"{name}: {image}"
        if "${" in tag:  # our own image: the default tag is a version too
            assert re.search(r":-\d+\.\d+", tag), f"{name}: {image}"


def test_every_service_has_resource_limits_and_rotated_json_logs(
    services: dict[str, Any],
) -> None:
    for name, service in services.items():
        limits = service["deploy"]["resources"]["limits"]
        assert limits.get("cpus") and limits.get("memory"), name
        logging = service["logging"]
        assert logging["driver"] == "json-file", name
        assert logging["options"]["max-size"] and logging["options"]["max-file"], name


def test_prometheus_scrapes_only_compose_services_on_ports_they_listen_on(
    services: dict[str, Any],
) -> None:
    config = _load(DEPLOY / "prometheus" / "prometheus.yml")
    targets = [
        t for job in config["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    ]
    alertmanagers = [
        t
        for am in config["alerting"]["alertmanagers"]
        for s in am["static_configs"]
        for t in s["targets"]
    ]
    assert {"metrics:9108", "api:8000", "alertmanager:9093", "loki:3100"} <= set(targets)
    for target in targets + alertmanagers:
        if not target.startswith("localhost:"):
            assert_service_address(services, target)


def test_alertmanager_routes_every_alert_to_the_api_webhook_with_its_token(
    services: dict[str, Any],
) -> None:
    from api.app import create_app

    config = _load(DEPLOY / "alertmanager" / "alertmanager.yml")
    receivers = {r["name"]: r for r in config["receivers"]}
    assert config["route"]["receiver"] in receivers
    paths = {route.path for route in create_app().routes}
    for receiver in receivers.values():
        for hook in receiver["webhook_configs"]:
            address = re.match(r"https?://([\w.-]+:\d+)(/\S*)", hook["url"])
            assert address, hook["url"]
            assert_service_address(services, address.group(1))
            assert address.group(2) in paths
            token_file = hook["http_config"]["authorization"]["credentials_file"]
            secret = token_file.removeprefix("/run/secrets/")
            assert secret in services["alertmanager"]["secrets"]
    compose = _load(COMPOSE_FILE)
    assert compose["secrets"][secret]["environment"] == "WHEELFLOW_ALERTMANAGER_TOKEN"
    assert "WHEELFLOW_ALERTMANAGER_TOKEN" in services["api"]["environment"]


def test_nginx_upstreams_are_the_api_and_the_prefect_server(services: dict[str, Any]) -> None:
    upstreams = re.findall(
        r"^\s*server\s+([\w-]+:\d+);", (DEPLOY / "nginx/nginx.conf").read_text(), re.M
    )
    assert sorted(upstreams) == ["api:8000", "prefect-server:4200"]
    for address in upstreams:
        assert_service_address(services, address)


def test_the_prefect_ui_is_behind_basic_auth_and_both_sites_use_tls() -> None:
    conf = (DEPLOY / "nginx/nginx.conf").read_text()
    servers = re.split(r"\n    server \{", conf)[1:]
    prefect = next(s for s in servers if "prefect_server" in s)
    api = next(s for s in servers if "wheelflow_api" in s)
    assert "listen 9443 ssl;" in prefect and "auth_basic_user_file" in prefect
    assert "listen 8443 ssl;" in api and "auth_basic" not in api


def test_grafana_data_sources_point_at_compose_services(services: dict[str, Any]) -> None:
    config = _load(DEPLOY / "grafana/provisioning/datasources/datasources.yml")
    for source in config["datasources"]:
        address = re.match(r"http://([\w.-]+:\d+)", source["url"])
        assert address, source["url"]
        assert_service_address(services, address.group(1))


# --------------------------------------------------------------------------- dashboards


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) of every provisioned panel."""
    return [
        (path.name, panel["title"], target["expr"])
        for path in DASHBOARDS
        for panel in json.loads(path.read_text())["panels"]
        for target in panel["targets"]
    ]


def test_the_four_dashboards_are_provisioned() -> None:
    titles = {json.loads(p.read_text())["title"] for p in DASHBOARDS}
    assert {"pipeline health", "data quality", "P&L and book", "risk"} == {
        t.removeprefix("wheelflow: ") for t in titles
    }
    provider = _load(DEPLOY / "grafana/provisioning/dashboards/dashboards.yml")
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_dashboard_queries_name_only_metrics_that_are_exported() -> None:
    from wheelflow import metrics

    exported = set(re.findall(r"``(wheelflow_\w+)", metrics.__doc__ or ""))
    api = {"wheelflow_api_requests_total"}  # the API's /metrics (Litestar's Prometheus plugin)
    builtin = {"up", "ALERTS"}
    for name, title, expr in dashboard_queries():
        used = set(re.findall(r"\b(wheelflow_\w+|up|ALERTS)\b(?=\s*[{(\[)\s])", expr + " "))
        assert used, f"{name}/{title}: no metric in {expr}"
        assert used <= exported | api | builtin, f"{name}/{title}: {used}"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(
            f"{name} is not installed (apt-get install prometheus prometheus-alertmanager nginx)"
        )
    return path


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    promtool = _tool("promtool")
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": expr}
                    for i, (_, _, expr) in enumerate(dashboard_queries())
                ],
            }
        ]
    }
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    done = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_amtool_accepts_the_alertmanager_config() -> None:
    amtool = _tool("amtool")
    done = subprocess.run(
        [amtool, "check-config", str(DEPLOY / "alertmanager/alertmanager.yml")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_nginx_accepts_the_gateway_config(tmp_path: Path) -> None:
    nginx = _tool("nginx")
    _module(DEPLOY / "nginx/gateway_init.py").prepare(
        tmp_path / "gateway", {"PREFECT_UI_PASSWORD": "pw"}
    )
    conf = (DEPLOY / "nginx/nginx.conf").read_text()
    # Compose resolves the service names; here they are loopback, and the files are in tmp.
    conf = conf.replace("api:8000", "127.0.0.1:8000").replace(
        "prefect-server:4200", "127.0.0.1:4200"
    )
    conf = conf.replace("/etc/nginx/gateway", str(tmp_path / "gateway"))
    (tmp_path / "nginx.conf").write_text(conf)
    done = subprocess.run(
        [
            nginx,
            "-t",
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
            "-g",
            f"pid {tmp_path}/nginx.pid;",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- gateway


def test_gateway_init_writes_a_self_signed_certificate_and_a_checkable_htpasswd(
    tmp_path: Path,
) -> None:
    from cryptography import x509

    gateway = _module(DEPLOY / "nginx/gateway_init.py")
    source = gateway.prepare(tmp_path, {"PREFECT_UI_USER": "ops", "PREFECT_UI_PASSWORD": "pw1"})
    assert source == "new self-signed certificate"
    cert = x509.load_pem_x509_certificate((tmp_path / "tls.crt").read_bytes())
    assert "CN=localhost" in cert.subject.rfc4514_string()
    user, _, hashed = (tmp_path / "prefect.htpasswd").read_text().strip().partition(":")
    raw = base64.b64decode(hashed.removeprefix("{SSHA}"))
    digest, salt = raw[:20], raw[20:]
    assert user == "ops"
    assert hashlib.sha1(b"pw1" + salt).digest() == digest
    # A second start keeps the certificate; mounted certificates replace it.
    assert gateway.prepare(tmp_path, {"PREFECT_UI_PASSWORD": "pw1"}) == "existing certificate"
    (tmp_path / "provided").mkdir()
    (tmp_path / "provided/tls.crt").write_text("REAL CERT")
    (tmp_path / "provided/tls.key").write_text("REAL KEY")
    assert gateway.prepare(tmp_path, {"PREFECT_UI_PASSWORD": "pw1"}) == "mounted certificate"
    assert (tmp_path / "tls.crt").read_text() == "REAL CERT"


def test_gateway_init_refuses_to_run_without_a_prefect_ui_password(tmp_path: Path) -> None:
    gateway = _module(DEPLOY / "nginx/gateway_init.py")
    with pytest.raises(SystemExit, match="PREFECT_UI_PASSWORD"):
        gateway.prepare(tmp_path, {})


# --------------------------------------------------------------------------- lock file


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_the_lock_file_pins_every_dependency_and_the_dockerfile_installs_it() -> None:
    lock = (DEPLOY / "requirements.lock").read_text()
    pinned = {
        _name(line) for line in lock.splitlines() if "==" in line and not line.startswith("#")
    }
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {_name(d) for d in declared} - pinned == set()
    assert all(
        "==" in line for line in lock.splitlines() if line and not line.startswith((" ", "#"))
    )
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "-r requirements.lock" in dockerfile and "--no-deps" in dockerfile


# --------------------------------------------------------------------------- Kubernetes


def k8s_documents() -> list[dict[str, Any]]:
    kustomization = _load(K8S / "kustomization.yaml")
    docs: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return list(spec.get("containers", [])) + list(spec.get("initContainers", []))


def test_kubernetes_manifests_validate_against_the_schemas_offline() -> None:
    files = [str(K8S / name) for name in _load(K8S / "kustomization.yaml")["resources"]]
    files.append(str(K8S / "secret.example.yaml"))
    done = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", "--quiet", "-k", "1.30.0", *files],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_kubernetes_has_the_same_wheelflow_services_and_no_cronjob() -> None:
    docs = k8s_documents()
    kinds = {d["kind"] for d in docs}
    assert "CronJob" not in kinds
    workloads = {d["metadata"]["name"] for d in docs if d["kind"] in {"Deployment", "StatefulSet"}}
    assert {"db", "redis", "prefect-server", "prefect-worker", "api", "metrics"} <= workloads
    assert any(d["kind"] == "Job" and d["metadata"]["name"] == "migrate" for d in docs)


def test_the_api_is_probed_on_health_and_ready() -> None:
    api = next(
        d for d in k8s_documents() if d["kind"] == "Deployment" and d["metadata"]["name"] == "api"
    )
    container = _containers(api)[0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"


def test_every_kubernetes_container_requests_resources_and_uses_a_pinned_image() -> None:
    for doc in k8s_documents():
        for container in _containers(doc):
            resources = container["resources"]
            assert resources["requests"]["cpu"] and resources["requests"]["memory"], doc["metadata"]
            assert ":" in container["image"] and not container["image"].endswith(":latest")


def test_kubernetes_secrets_come_from_secret_objects() -> None:
    secret_like = re.compile(r"PASSWORD|SECRET|TOKEN|KEY_ID|DATABASE_URL|CONNECTION_URL")
    for doc in k8s_documents():
        assert doc["kind"] != "Secret", "a real Secret is created by the operator, never committed"
        for container in _containers(doc):
            for env in container.get("env", []):
                if secret_like.search(env["name"]):
                    assert "secretKeyRef" in env.get("valueFrom", {}), env["name"]
        if doc["kind"] == "ConfigMap":
            assert not any(secret_like.search(k) for k in doc["data"]), doc["metadata"]["name"]
