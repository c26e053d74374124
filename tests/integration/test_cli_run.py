"""The ``wheelflow`` command: migrations and the whole pipeline once, as a user runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wheelflow.cli import main


def test_db_upgrade_then_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WHEELFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'w.sqlite'}")
    from alembic.script import ScriptDirectory

    from wheelflow.db import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out
    assert all(head in out for head in heads)
    assert main(["db", "status"]) == 0
    out = capsys.readouterr().out
    assert "option_snapshots" in out and "rankings" in out


def test_bad_setting_is_one_clear_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WHEELFLOW_DATABASE_URL", "mysql://nope")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert "WHEELFLOW_DATABASE_URL" in err and "Traceback" not in err


@pytest.mark.usefixtures("prefect_harness")
def test_run_prints_top_puts_and_calls(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["run", "--date", "2026-11-24", "--symbols", "F,T,BAC,INTC,AAPL", "--top", "3"]) == 0
    )
    out = capsys.readouterr().out
    assert "Top Cash-secured puts" in out and "Top Covered calls" in out
    assert "wheel_pipeline run 20261124T210000Z" in out
    # Net figures beside the gross ones.
    for header in ("Gross ann.", "Net ann.", "EV $", "Fill", "Fcst vol", "P(assign)"):
        assert header in out


def test_python_dash_m_wheelflow_shows_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wheelflow", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0
    for command in ("run", "db", "api", "simulate", "watchlist"):
        assert command in done.stdout


def _tradier_behind_a_local_server(
    monkeypatch: pytest.MonkeyPatch, base_url: str, symbols: int = 30
) -> None:
    for name, value in {
        "PROVIDER": "tradier",
        "TRADIER_TOKEN": "cli-test-token",
        "TRADIER_BASE_URL": base_url,
        "PROVIDER_REQUESTS_PER_SECOND": "1000",
        "PROVIDER_MAX_DAYS_TO_EXPIRY": "21",
    }.items():
        monkeypatch.setenv(f"WHEELFLOW_{name}", value)


def _fresh_fake_tradier() -> tuple[object, list[str]]:
    """A fake Tradier with quotes stamped now (the CLI's Tradier reads the real clock) and four
    symbols priced inside the default screening window."""
    import time

    from tests.tradier_fake import FakeTradier
    from wheelflow.providers.synthetic import SyntheticMarket

    market = SyntheticMarket(universe_size=30)
    fake = FakeTradier(market, max_days=21)
    now_ms = int(time.time() * 1000)
    for quote in fake.quotes.values():
        quote.update(trade_date=now_ms, bid_date=now_ms, ask_date=now_ms)
    quotes = market.quotes(market.symbols)
    return fake, sorted(quotes.loc[quotes["last"].between(10, 40), "symbol"])[:4]


@pytest.mark.usefixtures("prefect_harness")
def test_a_symbol_whose_chain_fails_is_one_clear_line_not_tracebacks(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from tests.tradier_fake import Faults, served

    fake, in_window = _fresh_fake_tradier()
    broken = in_window[1]
    with served(Faults(fake, rate=0.0, broken=broken)) as base_url:  # type: ignore[arg-type]
        _tradier_behind_a_local_server(monkeypatch, base_url)
        assert main(["run", "--symbols", ",".join(in_window)]) == 0
    out, err = capfd.readouterr()
    failure_lines = [line for line in (out + err).splitlines() if broken in line]
    assert len(failure_lines) == 1, out + err
    assert failure_lines[0].startswith(f"chains unavailable for {broken}: ")
    assert "HTTP 502" in failure_lines[0]
    assert "Traceback" not in out + err


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_with_no_chain_at_all_is_one_error_line_naming_the_provider_error(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from tests.tradier_fake import Faults, served

    fake, in_window = _fresh_fake_tradier()
    with served(Faults(fake, rate=0.0, broken=None, chains_down=True)) as base_url:  # type: ignore[arg-type]
        _tradier_behind_a_local_server(monkeypatch, base_url)
        assert main(["run", "--symbols", ",".join(in_window)]) == 2
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("wheelflow: error:")]
    assert len(errors) == 1, out + err
    assert "HTTP 503" in errors[0] and "options service unavailable" in errors[0]
