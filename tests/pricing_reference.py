"""Test and benchmark helpers: a binomial tree for American options, random contracts.

The Cox-Ross-Rubinstein tree is the slow, trusted reference.

Vectorized over contracts; the Python loop runs over time steps (O(steps^2) work per contract),
so it is for tests and spot checks, not for whole chains. Error at 2000 steps is below 1e-4 of the
strike on the test grid (measured against 1000 steps).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from wheelflow.pricing._inputs import FloatArray, as_call_flags, as_float


def binomial_price(
    spot: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    steps: int = 2000,
    dividend_times: np.ndarray | None = None,
    dividend_amounts: np.ndarray | None = None,
) -> FloatArray:
    """American price on a Cox-Ross-Rubinstein tree (reference; O(steps^2) per contract).

    Vectorized over contracts (1-D after broadcasting); the Python loop runs over time steps.
    Cash dividends ((n, m) arrays of ex-date times in years and amounts; 0 = none) follow the
    escrowed model: the tree carries S* = S - PV(dividends before expiry), and exercise at a
    node is worth S* + PV(dividends still to come) against the strike, so a call can be
    exercised at the last step before an ex-date.
    """
    s, k, tt, rr, qq, vol = (
        a.reshape(-1)
        for a in np.broadcast_arrays(*(as_float(a) for a in (spot, strike, t, r, q, sigma)))
    )
    n_contracts = s.size
    if dividend_times is None or dividend_amounts is None:
        div_t = np.zeros((n_contracts, 1))
        div_a = np.zeros((n_contracts, 1))
    else:
        div_t = np.broadcast_to(dividend_times, (n_contracts, np.shape(dividend_times)[-1]))
        div_a = np.broadcast_to(dividend_amounts, div_t.shape)
    counted = (div_t > 0.0) & (div_t < tt[:, None]) & (div_a > 0.0)

    def pv_after(time: np.ndarray) -> np.ndarray:
        """PV at ``time`` of the dividends with ex-date after it (and before expiry)."""
        ahead = counted & (div_t > time[:, None])
        return np.where(ahead, div_a * np.exp(-rr[:, None] * (div_t - time[:, None])), 0.0).sum(1)

    s_star = s - pv_after(np.zeros_like(s))
    sign = np.where(np.broadcast_to(as_call_flags(is_call), s.shape).reshape(-1), 1.0, -1.0)
    shape = np.broadcast(*(np.asarray(a) for a in (spot, strike, t, r, q, sigma))).shape
    dt = tt / steps
    up = np.exp(vol * np.sqrt(dt))
    p_up = (np.exp((rr - qq) * dt) - 1.0 / up) / (up - 1.0 / up)
    disc = np.exp(-rr * dt)
    j = np.arange(steps + 1)
    # node prices at maturity: S u^(2j - steps), contracts along axis 0
    log_up = np.log(up)[:, None]
    prices = s_star[:, None] * np.exp(log_up * (2 * j - steps)[None, :])
    values = np.maximum(sign[:, None] * (prices - k[:, None]), 0.0)
    for n in range(steps - 1, -1, -1):
        # the stock at step n includes the dividends whose ex-date lies after step n's time
        # (exercise at step n happens before an ex-date inside (t_n, t_n+1])
        carried = pv_after(n * dt)
        prices = s_star[:, None] * np.exp(log_up * (2 * j[: n + 1] - n)[None, :])
        prices += carried[:, None]
        cont = disc[:, None] * (
            p_up[:, None] * values[:, 1 : n + 2] + (1.0 - p_up[:, None]) * values[:, : n + 1]
        )
        values = np.maximum(cont, sign[:, None] * (prices - k[:, None]))
    return values[:, 0].reshape(shape)


def random_contracts(n: int, seed: int, max_sigma: float = 3.0) -> dict[str, np.ndarray]:
    """``n`` contracts: spot 1..500, K/S 0.5..2, t 1 day..2 years (years), r 0..8 %, q 0..5 %,
    sigma 0.05..``max_sigma`` (log-uniform where the range spans decades), half calls.

    Keys: spot, strike, t, r, q, sigma, is_call (bool). No prices: callers choose the model.
    """
    rng = np.random.default_rng(seed)
    spot = np.exp(rng.uniform(0.0, np.log(500.0), n))
    return {
        "spot": spot,
        "strike": spot * np.exp(rng.uniform(np.log(0.5), np.log(2.0), n)),
        "t": np.exp(rng.uniform(np.log(1 / 365), np.log(2.0), n)),
        "r": rng.uniform(0.0, 0.08, n),
        "q": rng.uniform(0.0, 0.05, n),
        "sigma": np.exp(rng.uniform(np.log(0.05), np.log(max_sigma), n)),
        "is_call": rng.random(n) < 0.5,
    }


class QuantLibAmerican:
    """QuantLib American engines, one contract at a time (reference for tests and benches).

    ``engine``: "qdfp" (Andersen-Lake-Offengenhendel, accurate scheme), "qdfp_fast",
    "baw" (Barone-Adesi-Whaley), "bjs" (Bjerksund-Stensland), "fd" (Crank-Nicolson finite
    differences, ``grid`` points in time and space; the one that takes cash dividends, under
    the escrowed model). Maturities are rounded to whole days (QuantLib dates).
    """

    def __init__(self, engine: str = "qdfp", grid: int = 800) -> None:
        import QuantLib as ql

        self.ql = ql
        self.today = ql.Date(2, 1, 2025)
        ql.Settings.instance().evaluationDate = self.today
        self.dc = ql.Actual365Fixed()
        self.spot, self.rate, self.yld, self.vol = (ql.SimpleQuote(x) for x in (100, 0, 0, 0.2))

        def curve(q: object) -> object:
            return ql.YieldTermStructureHandle(
                ql.FlatForward(self.today, ql.QuoteHandle(q), self.dc)
            )

        self.process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(self.spot),
            curve(self.yld),
            curve(self.rate),
            ql.BlackVolTermStructureHandle(
                ql.BlackConstantVol(
                    self.today, ql.NullCalendar(), ql.QuoteHandle(self.vol), self.dc
                )
            ),
        )
        self.engine_name = engine
        self.grid = grid

    def _engine(self, dividends: object = None) -> object:
        ql = self.ql
        if self.engine_name == "qdfp":
            return ql.QdFpAmericanEngine(self.process, ql.QdFpAmericanEngine.accurateScheme())
        if self.engine_name == "qdfp_fast":
            return ql.QdFpAmericanEngine(self.process, ql.QdFpAmericanEngine.fastScheme())
        if self.engine_name == "baw":
            return ql.BaroneAdesiWhaleyApproximationEngine(self.process)
        if self.engine_name == "bjs":
            return ql.BjerksundStenslandApproximationEngine(self.process)
        if dividends is not None:
            return ql.FdBlackScholesVanillaEngine(
                self.process,
                dividends,
                self.grid,
                self.grid,
                0,
                ql.FdmSchemeDesc.Douglas(),
                False,
                -ql.nullDouble(),
                ql.FdBlackScholesVanillaEngine.Escrowed,
            )
        return ql.FdBlackScholesVanillaEngine(self.process, self.grid, self.grid, 0)

    def days(self, t: float) -> int:
        return max(1, round(t * 365.0))

    def price(
        self,
        spot: np.ndarray,
        strike: np.ndarray,
        t: np.ndarray,
        r: np.ndarray,
        q: np.ndarray,
        sigma: np.ndarray,
        is_call: np.ndarray,
        dividend_times: np.ndarray | None = None,
        dividend_amounts: np.ndarray | None = None,
    ) -> np.ndarray:
        """Prices per contract (loops: a reference, not an engine). ``t`` must be whole days
        (use :meth:`days`); dividend arrays are (n, m), zero amounts ignored."""
        ql = self.ql
        n = np.size(spot)
        s, k, tt, rr, qq, vv = (np.broadcast_to(a, (n,)) for a in (spot, strike, t, r, q, sigma))
        calls = np.broadcast_to(is_call, (n,))
        out = np.empty(n)
        engine = None if dividend_times is not None else self._engine()
        for i in range(n):  # reference loop
            self.spot.setValue(float(s[i]))
            self.rate.setValue(float(rr[i]))
            self.yld.setValue(float(qq[i]))
            self.vol.setValue(float(vv[i]))
            expiry = self.today + self.days(float(tt[i]))
            kind = ql.Option.Call if calls[i] else ql.Option.Put
            option = ql.VanillaOption(
                ql.PlainVanillaPayoff(kind, float(k[i])), ql.AmericanExercise(self.today, expiry)
            )
            if dividend_times is not None and dividend_amounts is not None:
                schedule = ql.DividendVector(
                    [
                        self.today + self.days(float(d))
                        for d, a in zip(dividend_times[i], dividend_amounts[i], strict=True)
                        if a > 0
                    ],
                    [float(a) for a in dividend_amounts[i] if a > 0],
                )
                option.setPricingEngine(self._engine(schedule))
            else:
                option.setPricingEngine(engine)
            out[i] = option.NPV()
        return out


def american_contracts(n: int, seed: int) -> dict[str, np.ndarray]:
    """Held-out American grid: spot 20..200 USD, log-moneyness ln(S/K) within +-0.6, t whole
    days from 1 to 730 (years), sigma 5 %..250 % (log-uniform), r 0..8 %, q 0..6 %, half calls."""
    rng = np.random.default_rng(seed)
    spot = np.exp(rng.uniform(np.log(20.0), np.log(200.0), n))
    return {
        "spot": spot,
        "strike": spot * np.exp(-rng.uniform(-0.6, 0.6, n)),
        "t": rng.integers(1, 731, n) / 365.0,
        "r": rng.uniform(0.0, 0.08, n),
        "q": rng.uniform(0.0, 0.06, n),
        "sigma": np.exp(rng.uniform(np.log(0.05), np.log(2.5), n)),
        "is_call": rng.random(n) < 0.5,
    }


def quarterly_dividends(
    spot: np.ndarray, seed: int, slots: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """0..``slots`` quarterly cash dividends per contract, 0.2 %..2 % of the spot each, the
    first ex-date 1..91 days ahead: (times in years, amounts), (n, slots), amount 0 = none."""
    rng = np.random.default_rng(seed)
    n = spot.size
    count = rng.integers(0, slots + 1, n)
    first = rng.integers(1, 92, n)
    times = (first[:, None] + 91 * np.arange(slots)[None, :]) / 365.0
    used = np.arange(slots)[None, :] < count[:, None]
    amounts = np.where(used, (spot * rng.uniform(0.002, 0.02, n))[:, None], 0.0)
    return times, amounts
