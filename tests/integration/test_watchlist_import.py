"""TradingView watchlist exports: parsing, importing into the watchlist, and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine

from tests.provider_fakes import FIXTURES, fixture_text
from wheelflow.cli import main
from wheelflow.db import ensure_schema
from wheelflow.errors import WheelflowError
from wheelflow.pipeline.ingest import watchlist_symbols
from wheelflow.settings import get_settings
from wheelflow.watchlist_import import (
    import_watchlist,
    list_watchlist,
    parse_watchlist,
    select_section,
)

WATCHLIST = FIXTURES / "tradingview_watchlist.txt"


def test_entries_take_the_section_of_the_preceding_marker() -> None:
    parsed = parse_watchlist(fixture_text("tradingview_watchlist.txt"))
    by_symbol = parsed.entries.set_index("symbol")
    assert by_symbol.loc["AAPL", "section"] == "Wheel candidates"
    assert by_symbol.loc["SPY", "section"] == "ETFs"
    assert by_symbol.loc["BRK.B", "exchange"] == "NYSE"
    assert parsed.sections == ["ETFs", "Other", "Wheel candidates"]


def test_comma_and_newline_separated_entries_and_bare_symbols() -> None:
    parsed = parse_watchlist(fixture_text("tradingview_watchlist.txt"))
    assert parsed.entries["symbol"].tolist() == [
        "AAPL",
        "MSFT",
        "KO",
        "BRK.B",
        "SPY",
        "IWM",
        "QQQ",
        "TSLA",
    ]


def test_non_us_equity_entries_and_duplicates_are_skipped_with_reasons() -> None:
    skipped = dict(parse_watchlist(fixture_text("tradingview_watchlist.txt")).skipped)
    assert skipped["BINANCE:BTCUSDT"] == "BINANCE is not a US equity/ETF exchange"
    assert skipped["CME_MINI:ES1!"] == "CME_MINI is not a US equity/ETF exchange"
    assert skipped["FX:EURUSD"] == "FX is not a US equity/ETF exchange"
    assert skipped["NASDAQ:AAPL"] == "duplicate of AAPL (section Wheel candidates)"


def test_selecting_a_section_is_case_insensitive_and_unknown_sections_are_errors() -> None:
    parsed = parse_watchlist(fixture_text("tradingview_watchlist.txt"))
    assert select_section(parsed, "etfs").entries["symbol"].tolist() == ["SPY", "IWM", "QQQ"]
    with pytest.raises(WheelflowError, match="sections: ETFs, Other, Wheel candidates"):
        select_section(parsed, "Crypto")


def test_import_upserts_into_the_watchlist_idempotently(engine: Engine) -> None:
    parsed = parse_watchlist(fixture_text("tradingview_watchlist.txt"))
    assert import_watchlist(engine, parsed) == 8
    assert import_watchlist(engine, parsed) == 8
    rows = list_watchlist(engine)
    assert len(rows) == 8
    assert set(rows["source"]) == {"tradingview"}
    assert rows.set_index("symbol").loc["SPY", "notes"] == "exchange AMEX"


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("WHEELFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_imports_one_section_and_lists_it(
    cli_database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["watchlist", "import", str(WATCHLIST), "--section", "ETFs"]) == 0
    out = capsys.readouterr().out
    assert "imported 3 symbol(s)" in out
    assert "skipped FX:EURUSD: FX is not a US equity/ETF exchange" in out
    assert main(["watchlist", "list"]) == 0
    listed = capsys.readouterr().out
    assert "QQQ" in listed and "AAPL" not in listed
    assert "3 symbol(s)" in listed


def test_cli_reports_a_missing_file_as_an_error(
    cli_database: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["watchlist", "import", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read watchlist" in capsys.readouterr().err


def test_cli_lists_rows_without_a_section_next_to_imported_ones(
    cli_database: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # What `make run` leaves (the pipeline seeds the default universe, no section), then one import.
    engine = create_engine(get_settings().resolved_database_url)
    ensure_schema(engine)
    watchlist_symbols(engine, ["F", "T"])
    engine.dispose()
    assert main(["watchlist", "import", str(WATCHLIST), "--section", "ETFs"]) == 0
    capsys.readouterr()
    assert main(["watchlist", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    seeded = next(line for line in lines if line.startswith("F "))
    assert seeded.split()[1] == "-"
    assert any(line.startswith("SPY ") and "ETFs" in line for line in lines)
    assert lines[-1] == "5 symbol(s)"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\x00\x01\x02\x03PK\x03\x04 garbage \x7f\x00", "holds no stock or ETF symbol"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "cannot read watchlist"),
    ],
    ids=["decodable-garbage", "undecodable-binary"],
)
def test_cli_refuses_a_file_without_any_symbol(
    cli_database: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    reason: str,
) -> None:
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(content)
    assert main(["watchlist", "import", str(garbage)]) == 2
    captured = capsys.readouterr()
    assert "imported" not in captured.out
    assert captured.err.startswith("wheelflow: error:")
    assert "garbage.txt" in captured.err and reason in captured.err


def test_cli_refuses_an_empty_file(
    cli_database: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert main(["watchlist", "import", str(empty)]) == 2
    assert "the file has no entries" in capsys.readouterr().err
