"""Settings and strategy-file errors name the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from wheelflow.errors import ConfigError
from wheelflow.settings import load_settings
from wheelflow.strategy.config import load_strategy_config


def test_database_url_defaults_to_sqlite_under_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path}/wheelflow.sqlite"


def test_plain_postgresql_url_gets_the_psycopg_driver() -> None:
    url = load_settings(database_url="postgresql://u@h/db").resolved_database_url
    assert url == "postgresql+psycopg://u@h/db"


def test_bad_database_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHEELFLOW_DATABASE_URL", "mysql://x")
    with pytest.raises(ConfigError, match="WHEELFLOW_DATABASE_URL"):
        load_settings()


def test_out_of_range_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHEELFLOW_CHAIN_BATCH_SIZE", "0")
    with pytest.raises(ConfigError, match="WHEELFLOW_CHAIN_BATCH_SIZE"):
        load_settings()


def test_live_trading_is_off_unless_enabled() -> None:
    assert load_settings().live_trading is False


def test_defaults_without_a_file() -> None:
    config = load_strategy_config(None)
    assert config.screening.max_underlying_price == 50
    assert config.screening.premium_basis == "mid"


def test_a_valid_file_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "strategy.toml"
    path.write_text("[screening]\nmax_underlying_price = 30\npremium_basis = 'bid'\n")
    config = load_strategy_config(path)
    assert config.screening.max_underlying_price == 30
    assert config.screening.premium_basis == "bid"


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("[screening]\nmax_underlying_price = -5\n", "screening.max_underlying_price"),
        ("[screening]\npremium_basis = 'last'\n", "screening.premium_basis"),
        ("[screening]\nmax_spread_pct = 'wide'\n", "screening.max_spread_pct"),
        ("[screening]\nmax_dte = 30\n", "screening.max_dte"),
        ("[risk]\nmax_symbol_concentration = 2\n", "risk.max_symbol_concentration"),
        ("[unknown]\nx = 1\n", "unknown"),
    ],
)
def test_bad_value_is_an_error_naming_the_key(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "strategy.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_strategy_config(path)


def test_inverted_window_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "strategy.toml"
    path.write_text("[screening]\nmin_days_to_expiry = 50\nmax_days_to_expiry = 10\n")
    with pytest.raises(ConfigError, match="min_days_to_expiry must not exceed"):
        load_strategy_config(path)


def test_invalid_toml_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "strategy.toml"
    path.write_text("[screening\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_strategy_config(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read strategy file"):
        load_strategy_config(tmp_path / "nope.toml")


def test_the_shipped_example_file_is_valid_and_equals_the_defaults() -> None:
    example = Path(__file__).resolve().parents[2] / "deployments" / "strategy.example.toml"
    assert load_strategy_config(example) == load_strategy_config(None)
