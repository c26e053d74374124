"""``wheelflow wheel execute|status|expire`` on a stored snapshot."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from tests.integration._lifecycle_market import (
    DAY1,
    EXPIRY,
    SYMBOL,
    put_occ,
    store_quote,
    store_ranking,
)
from wheelflow.cli import main


@pytest.fixture
def cli_database(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The CLI pointed at the test database, holding one ranked put at DAY1."""
    from wheelflow import runtime

    monkeypatch.setenv("WHEELFLOW_DATABASE_URL", database_url)
    runtime._engines.clear()
    store_quote(engine, DAY1, 52.0, {put_occ(): (1.10, 1.30)})
    store_ranking(engine)
    return engine


def test_wheel_execute_twice_sends_one_order(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wheel", "execute"]) == 0
    assert main(["wheel", "execute"]) == 0
    with cli_database.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM orders")).scalar_one() == 1
    assert "1 orders sent, 1 filled" in capsys.readouterr().out


def test_wheel_status_lists_the_open_cycle(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["wheel", "execute"])
    capsys.readouterr()
    assert main(["wheel", "status"]) == 0
    out = capsys.readouterr().out
    assert SYMBOL in out and "SHORT_PUT" in out


def test_wheel_expire_settles_an_otm_put(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["wheel", "execute"])
    store_quote(cli_database, dt.datetime.combine(EXPIRY, dt.time(21)), 55.0)
    capsys.readouterr()
    assert main(["wheel", "expire", "--date", EXPIRY.isoformat()]) == 0
    assert f"{SYMBOL}: put_expired" in capsys.readouterr().out


def test_unknown_broker_is_a_clear_error_not_a_crash(
    cli_database: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wheel", "execute", "--broker", "nope"]) == 2
    assert "unknown broker 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [["--days", "0"], ["--universe", "0"], ["--start", "2020-01-01"]],
)
def test_simulate_refuses_bad_arguments_with_a_clear_error(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *args]) == 2
    assert "wheelflow: error: --" in capsys.readouterr().err
