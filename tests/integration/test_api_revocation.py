# ruff: noqa: F811  (pytest fixtures imported from test_api_seed are parameters here)
"""Access tokens end with their session or their user: logout, refresh-token reuse, disabling,
deleting, a password or role change end every affected token at once (not at expiry); and
the audit log records it."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    PASSWORD,
    api_settings,
    as_role,
    bearer,
    client,
    fast_password_hashing,
    login,
    make_client,
    seeded,
)
from wheelflow import security
from wheelflow.db import transaction

NEW_PASSWORD = "lantern quarry ribbon 47"


@pytest.fixture(autouse=True)
def _no_cookies(client):
    client.cookies.clear()  # each call says which refresh token it means


def _user_id(client, username: str) -> int:
    with client.app.state.engine.connect() as conn:
        return next(u["id"] for u in security.list_users(conn) if u["username"] == username)


def _events(client, as_role, event: str) -> list[dict]:
    response = client.get(f"/audit?event={event}", headers=as_role["admin"])
    assert response.status_code == 200, response.text
    return response.json()


def test_logout_ends_the_access_token_of_that_session_at_once(client):
    tokens = login(client, "trader")
    assert client.get("/positions", headers=bearer(tokens)).status_code == 200
    out = client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    response = client.get("/positions", headers=bearer(tokens))
    assert response.status_code == 401
    assert response.json()["detail"] == "session ended: log in again"


def test_logout_with_only_the_bearer_token_ends_its_session(client):
    tokens = login(client, "trader")
    assert client.post("/auth/logout", headers=bearer(tokens)).status_code == 204
    assert client.get("/positions", headers=bearer(tokens)).status_code == 401
    refreshed = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401


def test_logout_leaves_the_users_other_sessions_alone(client):
    laptop, phone = login(client, "trader"), login(client, "trader")
    client.post("/auth/logout", json={"refresh_token": laptop["refresh_token"]})
    assert client.get("/positions", headers=bearer(phone)).status_code == 200


def test_refresh_token_reuse_ends_the_sessions_access_tokens(client):
    first = login(client, "trader")
    second = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
    assert client.get("/positions", headers=bearer(second)).status_code == 200
    stolen = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert stolen.status_code == 401
    for tokens in (first, second):
        assert client.get("/positions", headers=bearer(tokens)).status_code == 401


def test_disabling_a_user_ends_all_their_access_tokens_at_once(client, as_role, seeded):
    with transaction(seeded) as conn:
        user_id = security.create_user(conn, "leaver", PASSWORD, "admin")
    one, two = login(client, "leaver"), login(client, "leaver")
    assert client.get("/users", headers=bearer(one)).status_code == 200
    disabled = client.patch(f"/users/{user_id}", json={"active": False}, headers=as_role["admin"])
    assert disabled.status_code == 200
    for tokens in (one, two):
        response = client.get("/users", headers=bearer(tokens))
        assert response.status_code == 401
        assert response.json()["detail"] == "user disabled or deleted: log in again"
    enabled = client.patch(f"/users/{user_id}", json={"active": True}, headers=as_role["admin"])
    assert enabled.status_code == 200
    assert client.get("/users", headers=bearer(one)).status_code == 401  # still ended
    assert client.get("/users", headers=bearer(login(client, "leaver"))).status_code == 200


def test_a_deleted_admins_token_no_longer_lists_users(client, as_role, seeded):
    with transaction(seeded) as conn:
        user_id = security.create_user(conn, "gone", PASSWORD, "admin")
    tokens = login(client, "gone")
    assert client.get("/users", headers=bearer(tokens)).status_code == 200
    assert client.delete(f"/users/{user_id}", headers=as_role["admin"]).status_code == 204
    assert client.get("/users", headers=bearer(tokens)).status_code == 401
    assert (
        client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code
        == 401
    )
    assert _events(client, as_role, "user_deleted")[0]["subject"] == f"user:{user_id}"


def test_admins_cannot_delete_themselves(client, as_role):
    admin_id = _user_id(client, "admin")
    assert client.delete(f"/users/{admin_id}", headers=as_role["admin"]).status_code == 403


def test_a_role_change_ends_the_tokens_that_carry_the_old_role(client, as_role):
    tokens = login(client, "trader")
    trader_id = _user_id(client, "trader")
    changed = client.patch(f"/users/{trader_id}", json={"role": "viewer"}, headers=as_role["admin"])
    assert changed.status_code == 200 and changed.json()["role"] == "viewer"
    assert client.get("/positions", headers=bearer(tokens)).status_code == 401
    assert client.get("/positions", headers=bearer(login(client, "trader"))).status_code == 403


def test_a_password_change_ends_every_token_and_returns_a_fresh_pair(client):
    here, elsewhere = login(client, "viewer"), login(client, "viewer")
    changed = client.put(
        "/auth/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(here),
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["cache-control"] == "no-store"
    for old in (here, elsewhere):
        assert client.get("/auth/me", headers=bearer(old)).status_code == 401
        again = client.post("/auth/refresh", json={"refresh_token": old["refresh_token"]})
        assert again.status_code == 401
    assert client.get("/auth/me", headers=bearer(changed.json())).status_code == 200
    assert login(client, "viewer", NEW_PASSWORD)["role"] == "viewer"
    old_password = client.post("/auth/login", json={"username": "viewer", "password": PASSWORD})
    assert old_password.status_code == 401


def test_a_password_change_needs_the_current_password_and_a_strong_new_one(client):
    tokens = login(client, "viewer")
    wrong = client.put(
        "/auth/me/password",
        json={"current_password": "not it", "new_password": NEW_PASSWORD},
        headers=bearer(tokens),
    )
    assert wrong.status_code == 401
    weak = client.put(
        "/auth/me/password",
        json={"current_password": PASSWORD, "new_password": "aaaaaaaaaaaaaa"},
        headers=bearer(tokens),
    )
    assert weak.status_code == 400 and weak.json()["extra"][0]["key"] == "new_password"
    assert client.get("/auth/me", headers=bearer(tokens)).status_code == 200  # nothing ended


def test_api_keys_have_no_password_to_change(client, as_role):
    key = client.post("/api-keys", json={"name": "bot"}, headers=as_role["admin"]).json()["key"]
    response = client.put(
        "/auth/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"X-API-Key": key},
    )
    assert response.status_code == 403


def test_a_token_without_a_session_is_refused(client):
    token = security.issue_access_token(
        3, "admin", "admin", secret=client.app.state.jwt_secret, lifetime=dt.timedelta(minutes=5)
    )
    response = client.get("/users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_the_audit_log_records_logins_failures_logouts_and_revocations(client, as_role):
    tokens = login(client, "trader")
    client.post("/auth/login", json={"username": "trader", "password": "wrong guess"})
    client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    again = login(client, "trader")
    client.post("/auth/refresh", json={"refresh_token": again["refresh_token"]})
    client.post("/auth/refresh", json={"refresh_token": again["refresh_token"]})  # reuse
    logins = _events(client, as_role, "login")
    assert {e["actor"] for e in logins} >= {"trader", "admin"}
    assert all(e["address"] for e in logins)
    failed = _events(client, as_role, "login_failed")
    assert failed[0]["subject"] == "username:trader" and failed[0]["actor_user_id"] is None
    assert _events(client, as_role, "logout")[0]["subject"].startswith("session:")
    revoked = _events(client, as_role, "session_revoked")
    assert revoked[0]["detail"] == {"reason": "refresh token reused"}
    text = str(client.get("/audit?limit=1000", headers=as_role["admin"]).json())
    assert PASSWORD not in text and "wrong guess" not in text
    assert tokens["refresh_token"] not in text


def test_the_audit_log_records_user_role_and_key_changes_with_their_actor(client, as_role):
    created = client.post(
        "/users",
        json={"username": "newbie", "password": PASSWORD, "role": "viewer"},
        headers=as_role["admin"],
    ).json()
    client.patch(f"/users/{created['id']}", json={"role": "trader"}, headers=as_role["admin"])
    key = client.post("/api-keys", json={"name": "bot"}, headers=as_role["admin"]).json()
    client.delete(f"/api-keys/{key['id']}", headers=as_role["admin"])
    for event, subject in [
        ("user_created", f"user:{created['id']}"),
        ("user_updated", f"user:{created['id']}"),
        ("api_key_created", f"key:{key['id']}"),
        ("api_key_revoked", f"key:{key['id']}"),
    ]:
        found = _events(client, as_role, event)[0]
        assert (found["subject"], found["actor"]) == (subject, "admin")
    assert _events(client, as_role, "user_updated")[0]["detail"]["role"] == "trader"


def test_users_and_keys_record_who_created_them(client, as_role):
    admin_id = _user_id(client, "admin")
    created = client.post(
        "/users", json={"username": "newbie", "password": PASSWORD}, headers=as_role["admin"]
    )
    assert created.json()["created_by"] == admin_id
    key = client.post("/api-keys", json={"name": "bot"}, headers=as_role["admin"]).json()
    listed = {k["id"]: k for k in client.get("/api-keys", headers=as_role["admin"]).json()}
    assert listed[key["id"]]["created_by"] == admin_id


def test_an_admin_key_without_the_key_admin_scope_cannot_mint_keys_or_users(client, as_role):
    plain = client.post(
        "/api-keys", json={"name": "admin-bot", "role": "admin"}, headers=as_role["admin"]
    ).json()
    headers = {"X-API-Key": plain["key"]}
    minted = client.post("/api-keys", json={"name": "child"}, headers=headers)
    assert minted.status_code == 403 and "keys:admin" in minted.json()["detail"]
    user = client.post("/users", json={"username": "x1", "password": PASSWORD}, headers=headers)
    assert user.status_code == 403 and "users:admin" in user.json()["detail"]
    assert client.get("/rankings", headers=headers).status_code == 200  # its role still works


def test_a_key_admin_key_mints_keys_and_is_recorded_as_their_minter(client, as_role):
    parent = client.post(
        "/api-keys",
        json={"name": "key-admin", "role": "admin", "scopes": ["keys:admin"]},
        headers=as_role["admin"],
    ).json()
    assert parent["scopes"] == ["keys:admin"]
    child = client.post(
        "/api-keys", json={"name": "child", "role": "viewer"}, headers={"X-API-Key": parent["key"]}
    )
    assert child.status_code == 201, child.text
    listed = {k["id"]: k for k in client.get("/api-keys", headers=as_role["admin"]).json()}
    assert listed[child.json()["id"]]["created_by_key"] == parent["id"]
    escalate = client.post(
        "/api-keys",
        json={"name": "sneaky", "role": "admin", "scopes": ["users:admin"]},
        headers={"X-API-Key": parent["key"]},
    )
    assert escalate.status_code == 403 and "users:admin" in escalate.json()["detail"]
