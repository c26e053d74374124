# ruff: noqa: F811  (pytest fixtures imported from test_api_seed are parameters here)
"""Findings of the security probe (issue 17), one test each: input bounds, JSON depth, media
types, headers, the viewer's risk view, the password policy, usernames, secrets and file modes."""

from __future__ import annotations

import dataclasses
import stat
import statistics
import time

import pytest
from argon2 import PasswordHasher

from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    PASSWORD,
    api_settings,
    fast_password_hashing,
    login,
    make_client,
    shared_client,
    shared_engine,
    shared_roles,
)
from wheelflow import passwords
from wheelflow.db import make_engine
from wheelflow.errors import ConfigError
from wheelflow.settings import load_settings
from wheelflow.shared_state import RedisState

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def client(shared_client):
    shared_client.cookies.clear()
    return shared_client


@pytest.fixture
def as_role(shared_roles):
    return shared_roles


@pytest.mark.parametrize("path", ["/auth/login", "/auth/refresh", "/auth/logout"])
def test_deeply_nested_json_before_authentication_is_a_400(client, path):
    response = client.post(path, content=DEEP, headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "JSON nested more than 32 levels deep"


def test_deeply_nested_json_on_an_authenticated_route_is_a_400(client, as_role):
    body = b'{"default_strategy": "cc", "x": ' + DEEP + b"}"
    response = client.put(
        "/auth/me/preferences",
        content=body,
        headers={**as_role["viewer"], "Content-Type": "application/json"},
    )
    assert response.status_code == 400


def test_brackets_inside_json_strings_do_not_count_as_nesting(client):
    password = "[" * 40 + "{" * 40
    response = client.post("/auth/login", json={"username": "viewer", "password": password})
    assert response.status_code == 401  # parsed and checked, not refused as nested


def test_a_text_plain_body_is_text_not_json(client):
    body = b'{"username": "viewer", "password": "correct horse battery"}'
    response = client.post("/auth/login", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=9999-12-31T23:59:59-23:59", "since"),
        ("since=0001-01-01T00:00:00%2B23:59", "since"),
        ("since=2200-06-01T00:00:00Z", "since"),
        ("since=1969-12-31T23:00:00Z", "since"),
        (f"before_id={2**31}", "before_id"),
        (f"before_id={2**63}", "before_id"),
        ("limit=100000000000000000000", "limit"),
        ("symbol=" + "A" * 17, "symbol"),
    ],
)
def test_extreme_alert_parameters_are_a_400_naming_the_field(client, as_role, query, field):
    response = client.get(f"/alerts?{query}", headers=as_role["viewer"])
    assert response.status_code == 400, response.text
    named = " ".join(f"{e.get('key')} {e.get('message')}" for e in response.json()["extra"])
    assert field in named


def test_a_time_zone_offset_inside_the_bounds_is_understood(client, as_role):
    response = client.get("/alerts?since=2026-11-24T16:00:00-05:00", headers=as_role["viewer"])
    assert response.status_code == 200
    assert {a["symbol"] for a in response.json()} == {"MSFT", "AAPL"}  # created 21:00 UTC


@pytest.mark.parametrize(
    "url",
    ["/chains/AAPL?expiration=9999-12-31", "/chains/" + "A" * 17, f"/positions/{2**31}"],
)
def test_extreme_path_and_date_parameters_are_a_400(client, as_role, url):
    assert client.get(url, headers=as_role["admin"]).status_code == 400


@pytest.mark.parametrize(("path", "status"), [("/health", 200), ("/users", 401), ("/nope", 404)])
def test_every_answer_carries_the_security_headers(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # plain HTTP


def test_hsts_is_sent_over_tls(client):
    response = client.get("https://testserver.local/health")
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_viewers_get_aggregate_risk_figures_only(client, as_role):
    viewer = client.get("/risk", headers=as_role["viewer"]).json()
    assert viewer["passed"] is False and viewer["scope"] == "aggregate"
    assert (viewer["n_checks"], viewer["n_breaches"]) == (2, 1)
    text = str(viewer)
    for secret in ("MSFT", "0.41", "equity", "100000", "metric_value", "subject"):
        assert secret not in text
    trader = client.get("/risk", headers=as_role["trader"]).json()
    assert trader["breaches"][0]["subject"] == "MSFT"
    assert trader["breaches"][0]["metric_value"] == 0.41


@pytest.mark.parametrize(
    ("password", "why"),
    [("aaaaaaaa", "at least 12"), ("aaaaaaaaaaaaaaaa", "too easy"), ("password1234", "too easy")],
)
def test_weak_passwords_are_refused_when_creating_users(client, as_role, password, why):
    response = client.post(
        "/users", json={"username": "weakling", "password": password}, headers=as_role["admin"]
    )
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "password"
    assert why in response.json()["detail"]


def test_usernames_are_unique_regardless_of_case(client, as_role):
    response = client.post(
        "/users", json={"username": "Admin", "password": PASSWORD}, headers=as_role["admin"]
    )
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "username"


def test_users_log_in_whatever_the_case_of_their_name(client):
    assert login(client, "TRADER")["role"] == "trader"


@pytest.mark.parametrize("secret", ["x", "short-secret", "a" * 31])
def test_a_jwt_secret_under_32_bytes_is_refused_at_start_up(secret):
    with pytest.raises(ConfigError, match=r"WHEELFLOW_JWT_SECRET.*at least 32 bytes"):
        load_settings(jwt_secret=secret)


def test_the_sqlite_file_is_created_readable_by_its_owner_only(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh' / 'wheelflow.sqlite'}")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    assert stat.S_IMODE((tmp_path / "fresh" / "wheelflow.sqlite").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o700


class CountingHasher(PasswordHasher):
    """argon2's hasher, counting the hashes it computes and the verifications it runs."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hashes = 0
        self.verifications = 0

    def hash(self, password, *, salt=None):
        self.hashes += 1
        return super().hash(password, salt=salt)

    def verify(self, hash, password):
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def counting_hasher():
    original = passwords._hasher
    passwords._hasher = CountingHasher(time_cost=2, memory_cost=16_384, parallelism=1)
    yield passwords._hasher
    passwords._hasher = original


def test_an_unknown_user_costs_one_verification_and_no_hash(client, counting_hasher):
    passwords.dummy_hash()  # computed once, at start-up
    counting_hasher.hashes = counting_hasher.verifications = 0
    for name in ("ghost", "nobody", "admin2"):
        response = client.post("/auth/login", json={"username": name, "password": "guess"})
        assert response.status_code == 401
    assert (counting_hasher.hashes, counting_hasher.verifications) == (0, 3)


def test_unknown_users_and_wrong_passwords_take_about_the_same_time(client, counting_hasher):
    def seconds(username: str) -> float:
        start = time.perf_counter()
        client.post("/auth/login", json={"username": username, "password": "wrong guess"})
        return time.perf_counter() - start

    # The known user's hash must be of the same cost as the dummy: re-hash it with this hasher.
    from sqlalchemy import update

    from models.auth import User

    with client.app.state.engine.begin() as conn:
        conn.execute(
            update(User)
            .where(User.username == "viewer")
            .values(password_hash=passwords.hash_password(PASSWORD))
        )
    passwords.dummy_hash()
    samples = [(seconds("viewer"), seconds("no-such-user")) for _ in range(11)]  # interleaved
    known = statistics.median(k for k, _ in samples)
    unknown = statistics.median(u for _, u in samples)
    assert unknown / known < 1.5, (unknown, known)  # before: a hash plus a verify, ~2x


def test_an_unreachable_redis_fails_closed_with_a_503(shared_engine, tmp_path):
    with make_client(shared_engine, api_settings(tmp_path)) as client:
        limits = client.app.state.login_limits
        client.app.state.login_limits = dataclasses.replace(
            limits, state=RedisState("redis://127.0.0.1:1/0", "wf-test-down:")
        )
        response = client.post("/auth/login", json={"username": "admin", "password": PASSWORD})
    assert response.status_code == 503
    assert response.json()["detail"] == "shared state unavailable, retry later"
