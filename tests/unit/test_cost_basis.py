"""The covered-call cost basis: share-weighted over open long lots, each lot's premium-adjusted
basis or, without one, its average price."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from wheelflow.strategy.cost_basis import covered_call_cost_basis


def lots(*rows: tuple[str, int, float, float | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "symbol": symbol,
                "asset_type": "stock",
                "quantity": quantity,
                "average_price": average,
                "cost_basis": basis,
                "status": "open",
            }
            for symbol, quantity, average, basis in rows
        ]
    )


def test_one_lot_uses_its_premium_adjusted_basis() -> None:
    assert covered_call_cost_basis(lots(("F", 100, 12.0, 11.4))) == {"F": 11.4}


def test_a_lot_without_basis_counts_at_its_average_price() -> None:
    assert covered_call_cost_basis(lots(("F", 100, 12.0, None))) == {"F": 12.0}


def test_lots_with_and_without_basis_are_share_weighted() -> None:
    basis = covered_call_cost_basis(lots(("F", 100, 12.0, 11.0), ("F", 300, 10.0, None)))
    assert basis["F"] == pytest.approx((100 * 11.0 + 300 * 10.0) / 400)


def test_the_order_of_the_lots_does_not_matter() -> None:
    a = lots(("F", 100, 30.0, None), ("F", 100, 22.0, 20.0))
    assert covered_call_cost_basis(a) == covered_call_cost_basis(a.iloc[::-1])
    assert covered_call_cost_basis(a)["F"] == pytest.approx(25.0)


def test_fewer_than_100_shares_in_all_lots_cannot_cover_a_call() -> None:
    assert covered_call_cost_basis(lots(("F", 60, 12.0, 11.0), ("F", 30, 12.0, None))) == {}
    assert set(covered_call_cost_basis(lots(("F", 60, 12.0, 11.0), ("F", 40, 13.0, None)))) == {"F"}


def test_short_option_and_closed_rows_are_not_lots() -> None:
    frame = lots(("F", 100, 12.0, 11.0), ("F", 100, 50.0, 50.0), ("F", -100, 9.0, None))
    frame.loc[1, "status"] = "closed"
    frame.loc[2, "asset_type"] = "stock"
    option = frame.iloc[[0]].assign(asset_type="option", quantity=5)
    assert covered_call_cost_basis(pd.concat([frame, option])) == {"F": 11.0}


def test_only_the_symbols_asked_for_are_kept() -> None:
    frame = lots(("F", 100, 12.0, None), ("T", 100, 20.0, None))
    assert covered_call_cost_basis(frame, ["T"]) == {"T": 20.0}
    assert covered_call_cost_basis(frame.iloc[0:0]) == {}
    assert all(math.isfinite(v) for v in covered_call_cost_basis(frame).values())
