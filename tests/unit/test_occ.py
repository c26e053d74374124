"""OCC option symbols: build, parse, round-trip."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from wheelflow.occ import build_occ_symbols, occ_symbol, parse_occ_symbols


def test_occ_symbol_of_a_put() -> None:
    assert occ_symbol("AAPL", dt.date(2026, 12, 18), "P", 152.5) == "AAPL261218P00152500"


def test_padded_osi_form_parses_like_the_compact_form() -> None:
    parsed = parse_occ_symbols(pd.Series(["AAPL  261218C00150000", "AAPL261218C00150000"]))
    assert parsed["valid"].all()
    assert (parsed["underlying"] == "AAPL").all()
    assert (parsed["strike"] == 150.0).all()


def test_invalid_symbols_parse_as_invalid_without_raising() -> None:
    parsed = parse_occ_symbols(pd.Series(["BAD", "", "AAPL261218X00150000", "aapl261218C00150000"]))
    assert not parsed["valid"].any()


@given(
    root=st.from_regex(r"[A-Z][A-Z]{0,4}", fullmatch=True),
    day=st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)),
    right=st.sampled_from(["C", "P"]),
    strike_milli=st.integers(min_value=1, max_value=99_999_999),
)
def test_occ_round_trip(root: str, day: dt.date, right: str, strike_milli: int) -> None:
    strike = strike_milli / 1000
    symbols = build_occ_symbols(
        pd.Series([root]), pd.Series(pd.to_datetime([day])), pd.Series([right]), pd.Series([strike])
    )
    assert symbols.iloc[0] == occ_symbol(root, day, right, strike)
    parsed = parse_occ_symbols(symbols).iloc[0]
    assert parsed["valid"]
    assert (parsed["underlying"], parsed["expiration"].date(), parsed["right"]) == (
        root,
        day,
        right,
    )
    assert parsed["strike"] == strike
