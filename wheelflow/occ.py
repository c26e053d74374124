"""OCC option symbols (OSI 2010 format), vectorized over pandas Series.

``ROOT  YYMMDD C/P STRIKE*1000 (8 digits)``, e.g. ``AAPL  261218P00150000``; the root is padded
to six characters in the OCC form, and wheelflow stores the compact form without padding
(``AAPL261218P00150000``) which is what most brokers and data vendors print.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

OCC_PATTERN = re.compile(
    r"^(?P<root>[A-Z][A-Z0-9.]{0,5}) *(?P<date>\d{6})(?P<right>[CP])(?P<strike>\d{8})$"
)
OCC_REGEX = r"^([A-Z][A-Z0-9.]{0,5}) *(\d{6})([CP])(\d{8})$"


def occ_symbol(underlying: str, expiration: dt.date, right: str, strike: float) -> str:
    """Compact OCC symbol of one contract."""
    return f"{underlying}{expiration:%y%m%d}{right}{round(strike * 1000):08d}"


def build_occ_symbols(
    underlying: pd.Series, expiration: pd.Series, right: pd.Series, strike: pd.Series
) -> pd.Series:
    """Vectorized ``occ_symbol`` over aligned Series (expiration as datetime64 or dates)."""
    days = pd.to_datetime(expiration)
    # YYMMDD and the strike in thousandths as one integer each (no strftime: ~20x faster).
    yymmdd = (days.dt.year % 100) * 10000 + days.dt.month * 100 + days.dt.day
    exp = (
        pd.Series(yymmdd.to_numpy(dtype=np.int64), index=expiration.index).astype(str).str.zfill(6)
    )
    milli = np.rint(strike.to_numpy(dtype=float) * 1000).astype(np.int64)
    strike_txt = pd.Series(milli, index=strike.index).astype(str).str.zfill(8)
    return underlying.astype(str) + exp.to_numpy() + right.astype(str) + strike_txt.to_numpy()


def parse_occ_symbols(symbols: pd.Series) -> pd.DataFrame:
    """Split OCC symbols into underlying, expiration (datetime64), right, strike.

    Invalid symbols give NaN/NaT fields and ``valid == False``; nothing raises.
    """
    parts = symbols.astype(str).str.strip().str.extract(OCC_REGEX)
    parts.columns = ["underlying", "yymmdd", "right", "strike_milli"]
    # Listed options expire in this century: read YY as 20YY (strptime's %y would map 69-99 to
    # the 1900s).
    expiration = pd.to_datetime("20" + parts["yymmdd"], format="%Y%m%d", errors="coerce")
    strike = pd.to_numeric(parts["strike_milli"], errors="coerce") / 1000.0
    valid = parts["underlying"].notna() & expiration.notna() & strike.gt(0)
    return pd.DataFrame(
        {
            "underlying": parts["underlying"],
            "expiration": expiration,
            "right": parts["right"],
            "strike": strike,
            "valid": valid,
        },
        index=symbols.index,
    )


def is_valid_occ(symbols: pd.Series) -> pd.Series:
    return parse_occ_symbols(symbols)["valid"]
