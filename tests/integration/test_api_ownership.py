# ruff: noqa: F811  (pytest fixtures imported from test_api_seed are parameters here)
"""Accounts belong to someone: the object-level matrix of every route that takes an account or
a position id. A trader sees and acts only on the accounts they own (directly or through a
team), an admin on all; another account's position is a 404, never a 403 that confirms it."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import insert

from models.lifecycle import WheelCycleRow
from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    PASSWORD,
    api_settings,
    bearer,
    client,
    fast_password_hashing,
    login,
    make_client,
    seeded,
)
from wheelflow import authorization, security
from wheelflow.db import transaction, upsert_frame

OPENED = dt.datetime(2026, 11, 2, 15, 30)
# Who owns what: the seed's trader owns "paper" (positions 1-3); below, trader2 owns "desk2"
# (position 4) directly and trader3 owns "desk3" (position 5) through the team "ops".
POSITIONS = {"trader": {1, 2, 3}, "trader2": {4}, "trader3": {5}, "outsider": set()}
ALL_POSITIONS = {1, 2, 3, 4, 5}


def _position(position_id: int, account: str, symbol: str) -> dict:
    return {
        "id": position_id,
        "account": account,
        "symbol": symbol,
        "asset_type": "stock",
        "quantity": 100,
        "average_price": 50.0,
        "status": "open",
        "opened_at": OPENED,
        "realized_pnl": 10.0 * position_id,
        "source": "paper",
    }


@pytest.fixture
def owners(seeded):
    with transaction(seeded) as conn:
        ids = {
            name: security.create_user(conn, name, PASSWORD, "trader")
            for name in ("trader2", "trader3", "outsider")
        }
        upsert_frame(
            conn,
            "positions",
            pd.DataFrame([_position(4, "desk2", "KO"), _position(5, "desk3", "PEP")]),
        )
        for account, symbol in (("paper", "AAPL"), ("desk2", "KO"), ("desk3", "PEP")):
            conn.execute(
                insert(WheelCycleRow).values(
                    account=account,
                    symbol=symbol,
                    state="SHORT_PUT",
                    opened_at=OPENED,
                    updated_at=OPENED,
                )
            )
        authorization.add_account_member(conn, "desk2", user_id=ids["trader2"])
        team = authorization.create_team(conn, "ops")
        authorization.add_team_member(conn, team, ids["trader3"])
        authorization.add_account_member(conn, "desk3", team_id=team)
    return ids


@pytest.fixture
def callers(client, owners):
    return {name: bearer(login(client, name)) for name in [*POSITIONS, "admin", "viewer"]}


@pytest.mark.parametrize("caller", [*POSITIONS, "admin"])
def test_every_position_id_answers_only_its_owners(client, callers, caller):
    visible = ALL_POSITIONS if caller == "admin" else POSITIONS[caller]
    for position_id in sorted(ALL_POSITIONS):
        response = client.get(f"/positions/{position_id}", headers=callers[caller])
        expected = 200 if position_id in visible else 404
        assert response.status_code == expected, (caller, position_id, response.text)
        if expected == 404:
            assert response.json()["detail"] == f"no position with id {position_id}"


@pytest.mark.parametrize("caller", [*POSITIONS, "admin"])
def test_position_lists_hold_only_the_callers_accounts(client, callers, caller):
    visible = ALL_POSITIONS if caller == "admin" else POSITIONS[caller]
    listed = client.get("/positions", headers=callers[caller]).json()
    assert {p["id"] for p in listed} == visible


@pytest.mark.parametrize("caller", [*POSITIONS, "admin"])
def test_pnl_adds_up_only_the_callers_accounts(client, callers, caller, seeded):
    visible = ALL_POSITIONS if caller == "admin" else POSITIONS[caller]
    realized = client.get("/pnl", headers=callers[caller]).json()["total"]["realized"]
    with seeded.connect() as conn:
        rows = conn.exec_driver_sql("SELECT id, realized_pnl FROM positions").all()
    assert realized == pytest.approx(sum(pnl for pid, pnl in rows if pid in visible))


@pytest.mark.parametrize(
    ("caller", "accounts"),
    [
        ("trader", {"paper"}),
        ("trader2", {"desk2"}),
        ("trader3", {"desk3"}),
        ("outsider", set()),
        ("admin", {"paper", "desk2", "desk3"}),
    ],
)
def test_wheel_cycles_and_account_lists_hold_only_the_callers_accounts(
    client, callers, caller, accounts
):
    cycles = client.get("/wheel-cycles", headers=callers[caller]).json()["cycles"]
    assert {c["account"] for c in cycles} == accounts
    listed = client.get("/accounts", headers=callers[caller]).json()
    assert {a["account"] for a in listed} == accounts


def test_an_api_key_acts_for_the_accounts_of_the_user_who_minted_it(client, callers, owners):
    with transaction(client.app.state.engine) as conn:
        minter = security.Principal(role="trader", username="trader2", user_id=owners["trader2"])
        _, key = security.create_api_key(conn, "desk2-bot", "trader", minted_by=minter)
    headers = {"X-API-Key": key}
    assert {p["id"] for p in client.get("/positions", headers=headers).json()} == {4}
    assert client.get("/positions/1", headers=headers).status_code == 404


def test_viewers_reach_no_position_or_account(client, callers):
    for url in ("/positions/1", "/positions", "/pnl", "/wheel-cycles", "/accounts"):
        assert client.get(url, headers=callers["viewer"]).status_code == 403


def test_only_admins_grant_and_revoke_ownership(client, callers, owners):
    grant = {"user_id": owners["outsider"]}
    for caller in ("trader", "trader2", "viewer"):
        response = client.post("/accounts/desk2/members", json=grant, headers=callers[caller])
        assert response.status_code == 403
    granted = client.post("/accounts/desk2/members", json=grant, headers=callers["admin"])
    assert granted.status_code == 201, granted.text
    assert {p["id"] for p in client.get("/positions", headers=callers["outsider"]).json()} == {4}
    member_id = granted.json()["id"]
    assert (
        client.delete(
            f"/accounts/desk2/members/{member_id}", headers=callers["trader2"]
        ).status_code
        == 403
    )
    revoked = client.delete(f"/accounts/desk2/members/{member_id}", headers=callers["admin"])
    assert revoked.status_code == 204
    assert client.get("/positions/4", headers=callers["outsider"]).status_code == 404


def test_a_membership_needs_exactly_one_existing_owner(client, callers, owners):
    admin = callers["admin"]
    both = client.post("/accounts/x/members", json={"user_id": 1, "team_id": 1}, headers=admin)
    assert both.status_code == 400
    neither = client.post("/accounts/x/members", json={}, headers=admin)
    assert neither.status_code == 400
    ghost = client.post("/accounts/x/members", json={"user_id": 2**31 - 1}, headers=admin)
    assert ghost.status_code == 404
    removed = client.delete(f"/accounts/desk2/members/{2**31}", headers=admin)
    assert removed.status_code == 400


def test_ownership_changes_are_audited(client, callers, owners):
    client.post(
        "/accounts/desk2/members", json={"user_id": owners["outsider"]}, headers=callers["admin"]
    )
    events = client.get("/audit?event=account_member_added", headers=callers["admin"]).json()
    assert events[0]["subject"] == "account:desk2" and events[0]["actor"] == "admin"
