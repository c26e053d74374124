"""Sector of each underlying: from the data provider where it has it, else a mapping file.

The mapping file is a CSV with ``symbol,sector`` rows. The default ships in
``wheelflow/defaults/sectors.csv``; point ``[risk].sector_file`` at your own copy to edit it.
A symbol found nowhere is in a sector of its own, ``"Unknown: SYMBOL"``: without information
names are not pooled (the sector limit then acts like the per-symbol one for them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from wheelflow.errors import ConfigError

DEFAULT_SECTOR_FILE = Path(__file__).resolve().parent.parent / "defaults" / "sectors.csv"
UNKNOWN_SECTOR = "Unknown"


def load_sector_map(path: str | Path | None = None) -> dict[str, str]:
    """``symbol -> sector`` from a ``symbol,sector`` CSV (the shipped default when None)."""
    p = Path(path) if path is not None else DEFAULT_SECTOR_FILE
    try:
        frame = pd.read_csv(p, dtype=str, comment="#")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read sector file {p}: {exc}") from None
    if not {"symbol", "sector"} <= set(frame.columns):
        raise ConfigError(f"sector file {p} needs the columns symbol,sector")
    frame = frame.dropna(subset=["symbol", "sector"])
    return dict(
        zip(frame["symbol"].str.strip().str.upper(), frame["sector"].str.strip(), strict=True)
    )


def sectors_for(
    symbols: Sequence[str],
    mapping: Mapping[str, str],
    provider_sectors: Mapping[str, str] | None = None,
) -> pd.Series:
    """Sector per symbol: the provider's answer first, then the mapping, else Unknown."""
    index = pd.Index([str(s) for s in symbols], name="symbol")
    out = pd.Series(index.map(lambda s: mapping.get(s, f"{UNKNOWN_SECTOR}: {s}")), index=index)
    if provider_sectors:
        given = index.map(lambda s: provider_sectors.get(s))
        out = out.where(given.isna(), pd.Series(given, index=index))
    return out.rename("sector")
