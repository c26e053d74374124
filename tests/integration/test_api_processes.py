# ruff: noqa: F811  (pytest fixtures imported from test_api_seed are parameters here)
"""Two ``wheelflow api`` processes (uvicorn on loopback ports) behind one Redis behave as one:
login limits, revocations and the hot-page cache are shared; forged ``X-Forwarded-For`` is
ignored unless the proxy is trusted; a webhook secret sent in the URL never reaches the log.

Each test gets its own Redis key prefix, so parallel runs never meet.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    PASSWORD,
    WEBHOOK_SECRET,
    fast_password_hashing,
    shared_engine,
)
from wheelflow import security
from wheelflow.db import transaction

REDIS_URL = os.environ.get("WHEELFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
JWT_SECRET = "two-process-test-secret-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"Redis is required in CI but unreachable at {REDIS_URL}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}")
    return client


class ApiProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wheelflow", "api", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"api exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError(f"api not ready: {self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()

    def login(self, username: str, password: str = PASSWORD, **kw) -> httpx.Response:
        return httpx.post(
            f"{self.url}/auth/login",
            json={"username": username, "password": password},
            timeout=30,
            **kw,
        )


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    store = _redis_or_skip()
    prefix = f"wf-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    keys = list(store.scan_iter(match=f"{prefix}*"))
    if keys:
        store.delete(*keys)


def _start_pair(
    engine, redis_prefix: str, directory: Path, **settings: str
) -> tuple[ApiProcess, ApiProcess]:
    """Two API processes over one database and one Redis prefix."""
    env = {
        **os.environ,
        "WHEELFLOW_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "WHEELFLOW_DATA_DIR": str(directory / "data"),
        "WHEELFLOW_JWT_SECRET": JWT_SECRET,
        "WHEELFLOW_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WHEELFLOW_REDIS_URL": REDIS_URL,
        "WHEELFLOW_REDIS_KEY_PREFIX": redis_prefix,
        "WHEELFLOW_SESSION_CACHE_SECONDS": "120",  # revocations must not wait for expiry
        "WHEELFLOW_API_CACHE_SECONDS": "300",
        **{f"WHEELFLOW_{k.upper()}": v for k, v in settings.items()},
    }
    pair = (ApiProcess(env, directory / "api-a.log"), ApiProcess(env, directory / "api-b.log"))
    for process in pair:
        process.wait_ready()
    return pair


Pair = tuple[ApiProcess, ApiProcess]


def _pair_prefix(redis_prefix: str, engine, name: str) -> str:
    return f"{redis_prefix}{engine.dialect.name}-{name}:"


@pytest.fixture(scope="module")
def direct_pair(
    shared_engine, redis_prefix, tmp_path_factory
) -> Iterator[tuple[ApiProcess, ApiProcess]]:
    """Clients reach the processes directly: X-Forwarded-For is not believed."""
    pair = _start_pair(
        shared_engine,
        _pair_prefix(redis_prefix, shared_engine, "direct"),
        tmp_path_factory.mktemp("direct"),
        login_rate_per_minute="4",
        login_account_failures="1000",
    )
    yield pair
    for process in pair:
        process.stop()


@pytest.fixture(scope="module")
def proxied_pair(
    shared_engine, redis_prefix, tmp_path_factory
) -> Iterator[tuple[ApiProcess, ApiProcess]]:
    """Behind a trusted proxy on 127.0.0.1: its X-Forwarded-For is the client address."""
    pair = _start_pair(
        shared_engine,
        _pair_prefix(redis_prefix, shared_engine, "proxied"),
        tmp_path_factory.mktemp("proxied"),
        trusted_proxies='["127.0.0.1"]',
        login_rate_per_minute="2",
        login_account_failures="3",
    )
    yield pair
    for process in pair:
        process.stop()


def _bearer(tokens: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def test_the_per_account_login_limit_holds_across_processes_and_addresses(proxied_pair):
    a, b = proxied_pair
    codes = [
        p.login("trader", "wrong guess", headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code
        for i, p in enumerate((a, b, a))
    ]
    assert codes == [401, 401, 401]
    locked = b.login("trader", headers={"X-Forwarded-For": "192.0.2.99"})  # right password
    assert locked.status_code == 429, locked.text
    assert "account" in locked.json()["detail"] and locked.headers["retry-after"]
    assert a.login("viewer", headers={"X-Forwarded-For": "192.0.2.98"}).status_code == 200


def test_a_trusted_proxys_forwarded_address_is_the_client_address(proxied_pair):
    a, _ = proxied_pair
    for i in range(3):  # three clients behind the proxy, one failure each: none is limited
        response = a.login("nobody1", "guess", headers={"X-Forwarded-For": f"198.51.100.{i}"})
        assert response.status_code == 401
    admin = a.login("admin", headers={"X-Forwarded-For": "198.51.100.50"}).json()
    failed = httpx.get(f"{a.url}/audit?event=login_failed", headers=_bearer(admin)).json()
    addresses = {e["address"] for e in failed if e["subject"] == "username:nobody1"}
    assert addresses == {"198.51.100.0", "198.51.100.1", "198.51.100.2"}


def test_a_logout_on_one_process_ends_the_token_on_the_other_at_once(direct_pair):
    a, b = direct_pair
    tokens = a.login("trader").json()
    assert httpx.get(f"{b.url}/positions", headers=_bearer(tokens)).status_code == 200  # cached
    out = httpx.post(f"{a.url}/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    after = httpx.get(f"{b.url}/positions", headers=_bearer(tokens))
    assert after.status_code == 401
    assert after.json()["detail"] == "session ended: log in again"


def test_disabling_a_user_on_one_process_ends_their_tokens_on_the_other(direct_pair, shared_engine):
    a, b = direct_pair
    with transaction(shared_engine) as conn:
        user_id = security.create_user(conn, "leaver", PASSWORD, "trader")
    admin, leaver = a.login("admin").json(), b.login("leaver").json()
    assert httpx.get(f"{b.url}/positions", headers=_bearer(leaver)).status_code == 200
    disabled = httpx.patch(
        f"{a.url}/users/{user_id}", json={"active": False}, headers=_bearer(admin)
    )
    assert disabled.status_code == 200
    assert httpx.get(f"{b.url}/positions", headers=_bearer(leaver)).status_code == 401


def test_both_processes_serve_one_cached_rankings_page(direct_pair, shared_engine):
    a, b = direct_pair
    viewer = a.login("viewer").json()
    url = "/rankings?limit=3&strategy=cc"
    first = httpx.get(f"{a.url}{url}", headers=_bearer(viewer)).json()
    with transaction(shared_engine) as conn:
        conn.exec_driver_sql("UPDATE rankings SET score = score + 100 WHERE strategy = 'cc'")
    second = httpx.get(f"{b.url}{url}", headers=_bearer(viewer)).json()
    assert second == first and len(first["items"]) == 3  # b served a's page from Redis


def test_a_webhook_secret_in_the_url_is_refused_and_never_logged(direct_pair):
    a, _ = direct_pair
    response = httpx.post(
        f"{a.url}/webhooks/tradingview?secret={WEBHOOK_SECRET}",
        content=b"AAPL 187.3",
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 400
    time.sleep(0.5)  # let the access log line reach the file
    log = a.log_path.read_text()
    assert "/webhooks/tradingview?secret=***" in log
    assert WEBHOOK_SECRET not in log


def test_a_forged_x_forwarded_for_does_not_escape_the_address_limit(
    direct_pair, redis_prefix, shared_engine
):
    a, b = direct_pair
    try:
        codes = [
            p.login(
                f"nobody{i}", "guess", headers={"X-Forwarded-For": f"203.0.113.{i}"}
            ).status_code
            for i, p in enumerate((a, b, a, b, a))
        ]
        assert codes == [401, 401, 401, 401, 429]
        assert "address" in b.login("viewer").json()["detail"]
    finally:  # the address is locked for a minute: free it for the other tests
        prefix = _pair_prefix(redis_prefix, shared_engine, "direct")
        redis.Redis.from_url(REDIS_URL).delete(f"{prefix}login-fail:addr:127.0.0.1")
