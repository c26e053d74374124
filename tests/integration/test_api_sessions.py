# ruff: noqa: F811  (pytest fixtures imported from test_api_seed are parameters here)
"""Sessions: browser-safe refresh cookies, logout, and access tokens that end with their session."""

from __future__ import annotations

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
)

COOKIE = "wheelflow_refresh"


@pytest.fixture
def client(shared_client):
    shared_client.cookies.clear()
    yield shared_client
    shared_client.cookies.clear()


def _set_cookie(response) -> str:
    headers = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
    assert len(headers) == 1, headers
    return headers[0]


def test_login_sets_the_refresh_token_as_an_httponly_strict_cookie_scoped_to_auth(client):
    response = client.post("/auth/login", json={"username": "viewer", "password": PASSWORD})
    assert response.status_code == 200
    cookie = _set_cookie(response)
    assert cookie.startswith(f"{COOKIE}={response.json()['refresh_token']};")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/auth", "samesite=strict"} <= attributes
    assert "secure" not in attributes  # plain HTTP here: a Secure cookie would never come back


def test_the_cookie_is_secure_when_the_request_came_over_tls(client):
    response = client.post(
        "https://testserver.local/auth/login", json={"username": "viewer", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert "secure" in {p.strip().lower() for p in _set_cookie(response).split(";")}


def test_token_answers_are_never_stored_by_caches(client):
    tokens = client.post("/auth/login", json={"username": "viewer", "password": PASSWORD})
    refreshed = client.post("/auth/refresh", json={"refresh_token": tokens.json()["refresh_token"]})
    for response in (tokens, refreshed):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"


def test_refresh_accepts_the_cookie_when_the_body_carries_no_token(client):
    first = login(client, "trader")
    assert client.cookies.get(COOKIE) == first["refresh_token"]
    refreshed = client.post("/auth/refresh")  # no body: the browser's cookie only
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.cookies.get(COOKIE) == second["refresh_token"]  # the cookie rotates too
    assert client.get("/positions", headers=bearer(second)).status_code == 200


def test_refresh_with_an_empty_json_object_uses_the_cookie(client):
    login(client, "viewer")
    assert client.post("/auth/refresh", json={}).status_code == 200


def test_refresh_without_a_token_anywhere_is_refused(client):
    response = client.post("/auth/refresh")
    assert response.status_code == 401
    assert "refresh token" in response.json()["detail"]


def test_programs_keep_the_json_body_flow_without_cookies(client):
    tokens = login(client, "viewer")
    client.cookies.clear()
    refreshed = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]


def test_logout_with_the_cookie_ends_the_session_and_clears_the_cookie(client):
    tokens = login(client, "viewer")
    out = client.post("/auth/logout")
    assert out.status_code == 204
    cleared = _set_cookie(out)
    assert cleared.startswith(f"{COOKIE}=") and "max-age=0" in cleared.lower()
    assert client.cookies.get(COOKIE) is None
    again = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


def test_logout_with_the_refresh_token_in_the_body_ends_that_session(client):
    tokens = login(client, "viewer")
    client.cookies.clear()
    out = client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    again = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401
