"""Sectors for exposure limits: the provider's first, then the editable mapping file."""

from __future__ import annotations

from pathlib import Path

import pytest

from wheelflow.errors import ConfigError
from wheelflow.risk.sectors import load_sector_map, sectors_for


def test_the_shipped_mapping_covers_the_default_universe() -> None:
    mapping = load_sector_map()
    assert mapping["XOM"] == "Energy" and mapping["AAPL"] == "Technology"


def test_a_user_file_replaces_the_default_and_the_provider_wins(tmp_path: Path) -> None:
    path = tmp_path / "sectors.csv"
    path.write_text("symbol,sector\n# my book\nxom,Oil\nF,Autos\n", encoding="utf-8")
    mapping = load_sector_map(path)
    assert mapping == {"XOM": "Oil", "F": "Autos"}
    got = sectors_for(["XOM", "F", "ZZZ"], mapping, provider_sectors={"F": "Cars"})
    assert got.to_dict() == {"XOM": "Oil", "F": "Cars", "ZZZ": "Unknown: ZZZ"}


def test_a_mapping_file_without_the_columns_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("ticker,industry\nF,Autos\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="symbol,sector"):
        load_sector_map(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_sector_map(tmp_path / "missing.csv")
