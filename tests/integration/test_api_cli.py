"""``wheelflow users create`` makes the first admin, who can then log in through the API."""

from __future__ import annotations

import io

import pytest

from tests.integration.test_api_seed import (  # noqa: F401  (fixtures)
    api_settings,
    fast_password_hashing,
    login,
    make_client,
)
from wheelflow.cli import main
from wheelflow.settings import get_settings


@pytest.fixture
def configured(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("WHEELFLOW_DATABASE_URL", database_url)
    monkeypatch.setenv("WHEELFLOW_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def test_users_create_with_password_stdin_makes_an_admin_who_can_log_in(
    configured, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr("sys.stdin", io.StringIO("first admin password\n"))
    assert main(["users", "create", "root", "--role", "admin", "--password-stdin"]) == 0
    assert "created user 'root'" in capsys.readouterr().out
    from wheelflow.db import make_engine

    engine = make_engine(configured)
    with make_client(engine, api_settings(tmp_path)) as client:
        assert login(client, "root", "first admin password")["role"] == "admin"
    engine.dispose()


def test_users_create_refuses_a_taken_name_with_a_clear_error(configured, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("first admin password\n"))
    main(["users", "create", "root", "--role", "admin", "--password-stdin"])
    monkeypatch.setattr("sys.stdin", io.StringIO("another password\n"))
    assert main(["users", "create", "root", "--password-stdin"]) == 2
    assert "username 'root' is taken" in capsys.readouterr().err
