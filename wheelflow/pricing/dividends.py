"""Discrete cash dividends: schedules per contract and the escrowed-dividend spot.

Model (escrowed dividends, Hull 2018 ch. 17; QuantLib's ``Escrowed`` cash-dividend model): the
stock is a riskless part, the present value of the cash dividends with ex-dates before expiry,
plus a risky part S* = S - PV(dividends) that follows geometric Brownian motion with the quoted
volatility and the continuous yield q. European options are BSM on S*, exactly in this model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from wheelflow.pricing._inputs import FloatArray, as_float


@dataclass(frozen=True)
class CashDividends:
    """Cash dividends per contract: ``times`` (years from now to each ex-date) and ``amounts``
    (currency per share), both shaped (contracts, slots); unused slots hold amount 0.

    Contracts of one underlying share a schedule: build one row per contract with
    :meth:`from_rows` or broadcast a single schedule with :meth:`single`.
    """

    times: FloatArray
    amounts: FloatArray

    @classmethod
    def single(cls, times: ArrayLike, amounts: ArrayLike) -> CashDividends:
        """One schedule for every contract (1-D times and amounts)."""
        t, a = (np.atleast_1d(as_float(x))[None, :] for x in (times, amounts))
        return cls(t, a)

    @classmethod
    def from_rows(cls, times: ArrayLike, amounts: ArrayLike) -> CashDividends:
        t, a = (np.atleast_2d(as_float(x)) for x in (times, amounts))
        return cls(*np.broadcast_arrays(t, a))

    @classmethod
    def by_underlying(
        cls,
        underlying: ArrayLike,
        symbol: ArrayLike,
        times: ArrayLike,
        amounts: ArrayLike,
    ) -> CashDividends:
        """One row per contract from a dividend feed: ``symbol``, ``times`` (years to the
        ex-date) and ``amounts`` per announced dividend; contracts whose ``underlying`` has
        none get an empty row. Vectorized (a sort and a scatter, no per-row Python)."""
        contract = np.asarray(underlying).astype(str)
        sym = np.asarray(symbol).astype(str)
        t = as_float(times).reshape(-1)
        a = as_float(amounts).reshape(-1)
        keep = np.isfinite(t) & np.isfinite(a) & (a > 0.0)
        sym, t, a = sym[keep], t[keep], a[keep]
        names, group = np.unique(sym, return_inverse=True)
        order = np.lexsort((t, group))
        group, t, a = group[order], t[order], a[order]
        first = np.searchsorted(group, group)  # first position of each dividend's symbol
        rank = np.arange(group.size) - first
        slots = max(1, int(rank.max()) + 1 if rank.size else 1)
        per_symbol_t = np.zeros((names.size + 1, slots))
        per_symbol_a = np.zeros((names.size + 1, slots))
        per_symbol_t[group, rank] = t
        per_symbol_a[group, rank] = a
        where = np.searchsorted(names, contract)
        found = (
            (where < names.size) & (names[np.minimum(where, max(names.size - 1, 0))] == contract)
            if names.size
            else np.zeros(contract.shape, bool)
        )
        row = np.where(found, where, names.size)  # the last row is empty
        return cls(per_symbol_t[row], per_symbol_a[row])

    def rows(self, n: int) -> tuple[FloatArray, FloatArray]:
        """(times, amounts) as (n, slots) arrays: one row per contract."""
        slots = self.times.shape[-1]
        times = np.broadcast_to(self.times.reshape(-1, slots), (n, slots))
        amounts = np.broadcast_to(self.amounts.reshape(-1, slots), (n, slots))
        return times, amounts


@dataclass(frozen=True)
class Escrowed:
    """Per contract: the risky spot S*, the PV of the dividends paid before expiry and
    sum(t_j PV_j) (the rate sensitivity of that PV); ``paid`` marks the slots that count."""

    spot: FloatArray
    pv: FloatArray
    pv_times_t: FloatArray
    times: FloatArray
    amounts: FloatArray
    paid: np.ndarray


def escrow(spot: FloatArray, t: FloatArray, r: FloatArray, dividends: CashDividends) -> Escrowed:
    """Escrowed spot of 1-D contracts (ex-dates in (0, t) count; the rest are ignored)."""
    times, amounts = dividends.rows(spot.size)
    paid = (times > 0.0) & (times < t[:, None]) & (amounts > 0.0)
    with np.errstate(all="ignore"):
        pv_each = np.where(paid, amounts * np.exp(-r[:, None] * times), 0.0)
    pv = pv_each.sum(axis=1)
    return Escrowed(
        spot=spot - pv,
        pv=pv,
        pv_times_t=(pv_each * np.where(paid, times, 0.0)).sum(axis=1),
        times=times,
        amounts=amounts,
        paid=paid,
    )
