# ruff: noqa: F811  (pytest fixtures imported from test_api_seed are parameters here)
"""Authentication, roles, tokens, API keys and the protective limits of the API."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    PASSWORD,
    api_settings,
    bearer,
    fast_password_hashing,
    login,
    make_client,
    shared_client,
    shared_engine,
    shared_roles,
)
from wheelflow import authorization, security
from wheelflow.db import transaction


@pytest.fixture
def client(shared_client):
    return shared_client


@pytest.fixture
def as_role(shared_roles):
    return shared_roles


@pytest.fixture
def seeded(shared_engine):
    return shared_engine


SUBSCRIPTION = {"name": "desk", "channels": ["json://127.0.0.1:9/hook"], "enabled": False}
# Every route, the least role it needs (None: public) and a request that role may send.
MATRIX: list[tuple[str, str, str | None, dict | None]] = [
    ("GET", "/health", None, None),
    ("GET", "/ready", None, None),
    ("GET", "/rankings", "viewer", None),
    ("GET", "/chains/{symbol}", "viewer", None),
    ("GET", "/risk", "viewer", None),
    ("GET", "/alerts", "viewer", None),
    ("GET", "/watchlist", "viewer", None),
    ("GET", "/runs", "viewer", None),
    ("GET", "/runs/{run_id}/quality", "viewer", None),
    ("GET", "/auth/me", "viewer", None),
    ("GET", "/auth/me/preferences", "viewer", None),
    ("PUT", "/auth/me/preferences", "viewer", {"default_strategy": "cc"}),
    ("GET", "/positions", "trader", None),
    ("GET", "/positions/{position_id}", "trader", None),
    ("GET", "/pnl", "trader", None),
    ("GET", "/wheel-cycles", "trader", None),
    ("POST", "/alerts/{alert_id}/ack", "trader", None),
    ("POST", "/watchlist", "trader", {"symbol": "TSLA"}),
    ("DELETE", "/watchlist/{symbol}", "trader", None),
    ("GET", "/users", "admin", None),
    ("POST", "/users", "admin", {"username": "analyst", "password": "long enough pw"}),
    ("PATCH", "/users/{user_id}", "admin", {"active": True}),
    ("DELETE", "/users/{user_id}", "admin", None),
    ("GET", "/audit", "admin", None),
    ("GET", "/accounts", "trader", None),
    ("POST", "/accounts/{account}/members", "admin", {"user_id": 2}),
    ("DELETE", "/accounts/{account}/members/{member_id}", "admin", None),
    ("POST", "/teams", "admin", {"name": "TEAM"}),
    ("POST", "/teams/{team_id}/members", "admin", {"user_id": 2}),
    ("GET", "/api-keys", "admin", None),
    ("POST", "/api-keys", "admin", {"name": "notebook", "role": "viewer"}),
    ("DELETE", "/api-keys/{key_id}", "admin", None),
    ("GET", "/me/subscriptions", "viewer", None),
    ("POST", "/me/subscriptions/test", "viewer", {}),
    ("POST", "/me/subscriptions", "viewer", SUBSCRIPTION),
    ("PUT", "/me/subscriptions/{subscription_id}", "viewer", SUBSCRIPTION),
    ("DELETE", "/me/subscriptions/{subscription_id}", "viewer", None),
    ("GET", "/alerts/{alert_id}/deliveries", "trader", None),
]
# Public by design, tested on their own below: login, refresh and the secret-checked webhook.
OWN_TESTS = {
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/webhooks/tradingview"),
    ("POST", "/webhooks/alertmanager"),  # bearer token of its own: test_alert_delivery.py
    ("PUT", "/auth/me/password"),  # ends the caller's tokens: test_api_sessions.py
    ("POST", "/auth/logout"),  # ends the caller's session: test_api_sessions.py
}
CALLERS = ["anonymous", "viewer", "trader", "admin"]


def _concrete(method: str, path: str, client, headers: dict[str, str]) -> str:
    """Fill path parameters with ids that exist, so allowed calls succeed (each call fresh)."""
    if method == "DELETE" and "{user_id}" in path:
        with transaction(client.app.state.engine) as conn:
            doomed = security.create_user(
                conn, f"doomed-{uuid.uuid4().hex[:8]}", PASSWORD, "viewer"
            )
        return path.replace("{user_id}", str(doomed))
    if "{member_id}" in path:
        with transaction(client.app.state.engine) as conn:
            team = authorization.create_team(conn, f"team-{uuid.uuid4().hex[:8]}")
            member = authorization.add_account_member(conn, "paper", team_id=team)
        return path.replace("{account}", "paper").replace("{member_id}", str(member))
    if "{team_id}" in path:
        with transaction(client.app.state.engine) as conn:
            team = authorization.create_team(conn, f"team-{uuid.uuid4().hex[:8]}")
        return path.replace("{team_id}", str(team))
    if "{account}" in path:
        return path.replace("{account}", "paper")
    if path == "/teams":
        return path
    if "{subscription_id}" in path:  # the caller's own subscription
        created = client.post("/me/subscriptions", json=SUBSCRIPTION, headers=headers)
        sub_id = created.json()["id"] if created.status_code == 201 else 1
        return path.replace("{subscription_id}", str(sub_id))
    if "{key_id}" in path:
        with transaction(client.app.state.engine) as conn:
            key_id, _ = security.create_api_key(conn, "to-revoke", "viewer")
        return path.replace("{key_id}", str(key_id))
    if path.startswith("/chains/"):
        return path.replace("{symbol}", "AAPL")
    if "{symbol}" in path:
        with transaction(client.app.state.engine) as conn:
            from wheelflow import queries

            queries.add_to_watchlist(conn, "IBM")
        return path.replace("{symbol}", "IBM")
    if "{alert_id}" in path:
        with client.app.state.engine.connect() as conn:
            from wheelflow import queries

            alert_id = queries.alerts(conn, limit=1)[0]["id"]
        return path.replace("{alert_id}", str(alert_id))
    return (
        path.replace("{run_id}", "run-2")
        .replace("{position_id}", "1")
        .replace("{user_id}", "1")  # user 1 is the viewer
    )


def test_matrix_covers_every_route_of_the_openapi_schema(client):
    routes = {
        (method.upper(), path)
        for path, item in client.app.openapi_schema.to_schema()["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert routes == {(m, p) for m, p, _, _ in MATRIX} | OWN_TESTS


@pytest.mark.parametrize("caller", CALLERS)
def test_role_matrix_every_caller_gets_exactly_its_rights(client, as_role, caller):
    headers = as_role.get(caller, {})
    for method, path, needs, body in MATRIX:
        url = _concrete(method, path, client, headers)
        if body == {"name": "TEAM"}:
            body = {"name": f"team-{uuid.uuid4().hex[:8]}"}
        response = client.request(method, url, json=body, headers=headers)
        if needs is None:
            allowed = True
        elif caller == "anonymous":
            assert response.status_code == 401, (caller, method, path, response.text)
            continue
        else:
            allowed = security.role_allows(caller, needs)
        if allowed:
            assert response.status_code < 300, (caller, method, path, response.text)
        else:
            assert response.status_code == 403, (caller, method, path, response.text)
            assert needs in response.json()["detail"]


def test_api_key_acts_with_its_role(client, as_role):
    key = client.post("/api-keys", json={"name": "bot", "role": "trader"}, headers=as_role["admin"])
    headers = {"X-API-Key": key.json()["key"]}
    assert client.get("/positions", headers=headers).status_code == 200
    assert client.get("/users", headers=headers).status_code == 403
    assert client.get("/auth/me", headers=headers).json()["kind"] == "api_key"


def test_api_keys_are_stored_hashed(client, as_role, seeded):
    key = client.post("/api-keys", json={"name": "bot"}, headers=as_role["admin"]).json()["key"]
    with seeded.connect() as conn:
        stored = [k["prefix"] for k in security.list_api_keys(conn)]
        raw = conn.exec_driver_sql("SELECT key_hash FROM api_keys").scalars().all()
    assert key not in raw and security.token_digest(key) in raw
    assert key[:12] in stored


def test_revoked_api_key_is_refused(client, as_role):
    created = client.post("/api-keys", json={"name": "bot"}, headers=as_role["admin"]).json()
    headers = {"X-API-Key": created["key"]}
    assert client.get("/rankings", headers=headers).status_code == 200
    revoked = client.delete(f"/api-keys/{created['id']}", headers=as_role["admin"])
    assert revoked.status_code == 204
    response = client.get("/rankings", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"] == "API key revoked"


def test_unknown_api_key_is_refused(client):
    response = client.get("/rankings", headers={"X-API-Key": "wfk_made-up"})
    assert response.status_code == 401


def test_expired_access_token_is_refused(client, seeded):
    token = security.issue_access_token(
        2,
        "trader",
        "trader",
        secret=client.app.state.jwt_secret,
        lifetime=dt.timedelta(minutes=15),
        now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16),
    )
    response = client.get("/rankings", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["detail"] == "access token expired"


def test_token_signed_with_another_secret_is_refused(client):
    token = security.issue_access_token(
        3,
        "admin",
        "admin",
        secret="someone-elses-secret-of-thirty-two-bytes+",
        lifetime=dt.timedelta(minutes=5),
    )
    response = client.get("/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid access token"


def test_wrong_password_and_unknown_user_get_the_same_answer(client):
    wrong = client.post("/auth/login", json={"username": "admin", "password": "nope"})
    unknown = client.post("/auth/login", json={"username": "ghost", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "invalid username or password"


def test_refresh_rotates_and_an_old_refresh_token_is_refused(client):
    first = login(client, "trader")
    second = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert client.get("/positions", headers=bearer(second.json())).status_code == 200
    reused = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert "already used" in reused.json()["detail"]


def test_reusing_a_refresh_token_revokes_the_whole_session(client):
    first = login(client, "trader")
    second = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
    client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    after_theft = client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after_theft.status_code == 401
    assert after_theft.json()["detail"] == "refresh token revoked"


def test_logout_revokes_the_refresh_token(client):
    tokens = login(client, "viewer")
    out = client.post(
        "/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=bearer(tokens)
    )
    assert out.status_code == 204
    again = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


def test_expired_refresh_token_is_refused(client, seeded):
    with transaction(seeded) as conn:
        token = security.issue_refresh_token(
            conn,
            1,
            lifetime=dt.timedelta(days=14),
            now=dt.datetime(2020, 1, 1),
        )
    response = client.post("/auth/refresh", json={"refresh_token": token})
    assert response.status_code == 401
    assert response.json()["detail"] == "refresh token expired"


def test_disabled_user_cannot_log_in_or_refresh(client, as_role, seeded):
    with transaction(seeded) as conn:
        user_id = security.create_user(conn, "leaver", PASSWORD, "trader")
    tokens = login(client, "leaver")
    disabled = client.patch(f"/users/{user_id}", json={"active": False}, headers=as_role["admin"])
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    refused = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refused.status_code == 401
    relogin = client.post("/auth/login", json={"username": "leaver", "password": PASSWORD})
    assert relogin.status_code == 401


def test_admin_creates_a_user_who_can_log_in(client, as_role):
    created = client.post(
        "/users",
        json={"username": "carol", "password": "a long passphrase", "role": "trader"},
        headers=as_role["admin"],
    )
    assert created.status_code == 201 and created.json()["role"] == "trader"
    assert login(client, "carol", "a long passphrase")["role"] == "trader"
    duplicate = client.post(
        "/users",
        json={"username": "carol", "password": "a long passphrase"},
        headers=as_role["admin"],
    )
    assert duplicate.status_code == 400
    assert duplicate.json()["extra"][0]["key"] == "username"


def test_passwords_are_stored_as_argon2id_hashes(seeded):
    with seeded.connect() as conn:
        hashes = conn.exec_driver_sql("SELECT password_hash FROM users").scalars().all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(PASSWORD in h for h in hashes)


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("GET", "/rankings?limit=0", None, "limit"),
        ("GET", "/rankings?strategy=straddle", None, "strategy"),
        ("GET", "/rankings?max_delta=abc", None, "max_delta"),
        ("GET", "/rankings?cursor=garbage", None, "cursor"),
        ("GET", "/chains/AAPL?expiration=tomorrow", None, "expiration"),
        ("GET", "/alerts?since=yesterday", None, "since"),
        ("POST", "/users", {"username": "dave", "password": "short"}, "password"),
        ("POST", "/users", {"username": "eve", "password": "long enough", "role": "god"}, "role"),
        ("PUT", "/auth/me/preferences", {"max_delta": 3}, "max_delta"),
        ("POST", "/watchlist", {"symbol": 42}, "symbol"),
    ],
)
def test_bad_input_gets_a_400_naming_the_field(client, as_role, method, url, body, field):
    response = client.request(method, url, json=body, headers=as_role["admin"])
    assert response.status_code == 400, response.text
    named = " ".join(
        str(e.get("key", "")) + " " + str(e.get("message", ""))
        for e in response.json().get("extra", [])
    )
    assert field in named, response.json()


def test_login_is_rate_limited(seeded, tmp_path):
    settings = api_settings(tmp_path, login_rate_per_minute=3)
    with make_client(seeded, settings) as limited:
        codes = [
            limited.post("/auth/login", json={"username": "x", "password": "y"}).status_code
            for _ in range(4)
        ]
        other = limited.get("/health").status_code
    assert codes == [401, 401, 401, 429]
    assert other == 200


def test_request_body_over_the_limit_is_refused_with_413(seeded, tmp_path):
    settings = api_settings(tmp_path, api_max_body_bytes=2048)
    with make_client(seeded, settings) as small:
        response = small.post("/auth/login", json={"username": "viewer", "password": "x" * 5000})
    assert response.status_code == 413


def test_cors_is_off_by_default(client):
    response = client.options(
        "/rankings",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in response.headers


def test_cors_allows_only_configured_origins(seeded, tmp_path):
    settings = api_settings(tmp_path, cors_origins=["https://desk.example"])
    with make_client(seeded, settings) as cors:
        allowed = cors.get("/health", headers={"Origin": "https://desk.example"})
        other = cors.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://desk.example"
    assert "access-control-allow-origin" not in other.headers


def test_openapi_schema_and_ui_are_served(client):
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200 and "/rankings" in schema.json()["paths"]
    assert client.get("/schema/swagger").status_code == 200
