"""The cost basis a covered call is screened against, from an account's open stock lots.

Rule (one for every caller): a symbol qualifies for covered calls when its open long stock lots
hold at least 100 shares together; its basis is the share-weighted mean of the lots' per-share
bases, where a lot's basis is its premium-adjusted ``cost_basis`` (net of the put and call
premiums the wheel collected on it) and, for a lot without one (bought outright, imported), its
``average_price``. This is the per-share figure a broker reports for the whole position, so a
call struck at or above it does not lose money on the shares it can call away on average, and it
does not depend on the order of the lots or on which of them lacks a basis.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

SHARES_PER_CONTRACT = 100


def covered_call_cost_basis(
    positions: pd.DataFrame, symbols: Iterable[str] | None = None
) -> dict[str, float]:
    """Per-share cost basis of every symbol with >= 100 long shares open (see the module rule).

    ``positions`` has the ``positions`` table's columns (``asset_type``, ``symbol``,
    ``quantity``, ``average_price``, ``cost_basis``; closed or short rows are ignored when
    ``status``/``quantity`` say so). ``symbols`` keeps only those (e.g. the ones quoted).
    """
    if positions.empty:
        return {}
    lots = positions[(positions["asset_type"] == "stock") & (positions["quantity"] > 0)]
    if "status" in lots:
        lots = lots[lots["status"] == "open"]
    if symbols is not None:
        lots = lots[lots["symbol"].isin(set(symbols))]
    if lots.empty:
        return {}
    shares = lots["quantity"].to_numpy(dtype=float)
    per_share = (
        pd.to_numeric(lots["cost_basis"], errors="coerce")
        .fillna(pd.to_numeric(lots["average_price"], errors="coerce"))
        .to_numpy(dtype=float)
    )
    priced = np.isfinite(per_share)  # a lot with no price at all cannot give a basis
    held = (
        pd.DataFrame(
            {
                "symbol": lots["symbol"].astype(str).to_numpy()[priced],
                "shares": shares[priced],
                "cost": shares[priced] * per_share[priced],
            }
        )
        .groupby("symbol")[["shares", "cost"]]
        .sum()
    )
    held = held[held["shares"] >= SHARES_PER_CONTRACT]
    return {str(s): float(b) for s, b in (held["cost"] / held["shares"]).items()}
