"""Build the American early-exercise-premium table shipped in wheelflow/pricing/american/data/.

Run: ``.venv/bin/python scripts/build_american_table.py`` (needs QuantLib, a dev dependency;
about 3 minutes of CPU, ~800,000 QdFp prices). The engine in
:mod:`wheelflow.pricing.american.engine` reads the result; see its docstring for the coordinates.

Every American put is priced in normalised form: strike 1, maturity 1, volatility v = sigma
sqrt(t), rate a = r t and yield b = q t (scaling time leaves the price unchanged), with the drift
coordinates alpha = a / v = r sqrt(t) / sigma and beta = b / v, tabulated as ln alpha and the
yield share rho = beta / (alpha + beta) = q / (r + q) (the premium collapses once q exceeds r,
on the scale of r: a grid in beta itself misses that). For each (ln v, ln alpha, rho) node the
script

1. finds the exercise boundary x* = ln(B / K) from the smooth-pasting shape of the price just
   above it (see :func:`boundary`; clamped to ``x_low(v)`` where no boundary lies above it:
   deep in the money, far from any quoted contract);
2. prices the put at x = x* + z v for the z nodes with QuantLib's QdFp (Andersen, Lake and
   Offengenhendel 2016) engine in its accurate scheme (~1e-7 relative of the high-precision
   scheme), and stores the early-exercise premium, American minus European (BSM) value, per
   unit of alpha (it vanishes like alpha as the rate goes to zero; ln alpha keeps the boundary,
   which falls like ln alpha, near linear).

The reference is QuantLib, so the tests measure the interpolation error against QdFp at
held-out points and against independent engines (finite differences, a binomial tree).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "wheelflow" / "pricing" / "american" / "data" / "eep_table.npz"

LN_V = np.linspace(math.log(0.002), math.log(4.0), 26)
LN_ALPHA = np.linspace(math.log(0.001), math.log(2.4), 19)
RHO = np.linspace(0.0, 0.95, 20)  # yield share beta / (alpha + beta) = q / (r + q) of the put
Z = np.linspace(0.0, 8.0, 25)
NOISE_FLOOR = 2e-5  # above QdFp's noise where the put is worth its exercise value (strike units)
LEVEL_SHARE = 0.01  # boundary crossings at 1 % and 4 % of the excess at the upper limit


def x_low(v: float) -> float:
    """Lowest boundary searched: far below any quoted strike range."""
    return -(8.0 + 4.0 * v)


class QdFpPut:
    """One QuantLib American put, strike 1 and maturity 1 year, re-priced by setting quotes."""

    def __init__(self) -> None:
        import QuantLib as ql

        today = ql.Date(1, 1, 2025)
        ql.Settings.instance().evaluationDate = today
        dc = ql.Actual365Fixed()
        self.spot, self.rate, self.yld, self.vol = (ql.SimpleQuote(x) for x in (1, 0, 0, 0.2))

        def curve(q: ql.SimpleQuote) -> ql.YieldTermStructureHandle:
            return ql.YieldTermStructureHandle(ql.FlatForward(today, ql.QuoteHandle(q), dc))

        process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(self.spot),
            curve(self.yld),
            curve(self.rate),
            ql.BlackVolTermStructureHandle(
                ql.BlackConstantVol(today, ql.NullCalendar(), ql.QuoteHandle(self.vol), dc)
            ),
        )
        self.option = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Put, 1.0), ql.AmericanExercise(today, today + 365)
        )
        self.option.setPricingEngine(
            ql.QdFpAmericanEngine(process, ql.QdFpAmericanEngine.accurateScheme())
        )

    def set_model(self, v: float, a: float, b: float) -> None:
        self.vol.setValue(v)
        self.rate.setValue(a)
        self.yld.setValue(b)

    def __call__(self, x: float) -> float:
        self.spot.setValue(math.exp(x))
        return float(self.option.NPV())


def european_put(x: np.ndarray, v: float, a: float, b: float) -> np.ndarray:
    from wheelflow.pricing.black_scholes_merton import price

    return price(np.exp(x), 1.0, 1.0, a, b, v, False)


def _crossing(put: QdFpPut, level: float, low: float, high: float, steps: int) -> float:
    """x in [low, high] where price - exercise value crosses ``level`` (bisection)."""
    for _ in range(steps):
        mid = 0.5 * (low + high)
        if put(mid) - (1.0 - math.exp(mid)) > level:
            high = mid
        else:
            low = mid
    return 0.5 * (low + high)


def boundary(put: QdFpPut, v: float, a: float, b: float) -> float:
    """x* = ln(B/K), the exercise boundary.

    QdFp's accurate scheme leaves up to ~5e-6 (strike units) of noise where the put is worth
    its exercise value, so "price above the exercise value" cannot locate the boundary. Smooth
    pasting can: near it the excess grows like (x - x*)^2, so sqrt(excess) is linear in x.
    The boundary is extrapolated from the points where the excess crosses 1 % and 4 % of its
    value at the upper limit K min(1, r/q) (at least 2e-5 and 8e-5, above the noise).
    """
    low = x_low(v)
    high = min(0.0, math.log(a / b)) if b > 0.0 else 0.0  # B <= K min(1, r/q)
    # crossing levels: a few percent of the excess at the upper limit, above the noise
    excess_high = put(high) - (1.0 - math.exp(high))
    level1 = max(NOISE_FLOOR, LEVEL_SHARE * excess_high)
    level2 = 4.0 * level1
    if put(low) - (1.0 - math.exp(low)) > level1:
        return low
    if excess_high <= level2:
        return high
    x1 = _crossing(put, level1, low, high, 30)
    x2 = _crossing(put, level2, x1, high, 22)
    y1 = math.sqrt(max(put(x1) - (1.0 - math.exp(x1)), 0.0))
    y2 = math.sqrt(max(put(x2) - (1.0 - math.exp(x2)), 0.0))
    if not y2 > y1:
        return x1
    return max(low, x1 - y1 * (x2 - x1) / (y2 - y1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    put = QdFpPut()
    shape = (LN_V.size, LN_ALPHA.size, RHO.size)
    x_star = np.empty(shape)
    premium = np.empty((*shape, Z.size))
    start = time.process_time()
    for i, ln_v in enumerate(LN_V):  # one-off build: a scalar reference engine per node
        v = math.exp(ln_v)
        for j, alpha in enumerate(np.exp(LN_ALPHA)):
            for k, rho in enumerate(RHO):
                beta = alpha * rho / (1.0 - rho)
                a, b = alpha * v, beta * v
                put.set_model(v, a, b)
                xb = boundary(put, v, a, b)
                x = xb + Z * v
                american = np.array([put(float(xi)) for xi in x])
                x_star[i, j, k] = xb
                # per unit alpha: the premium vanishes like alpha as the rate goes to zero
                premium[i, j, k] = (american - european_put(x, v, a, b)) / alpha
        print(f"v = {v:.4f} done, {time.process_time() - start:.0f} s CPU", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        ln_v=LN_V,
        ln_alpha=LN_ALPHA,
        rho=RHO,
        z=Z,
        x_star=x_star,
        premium=premium.astype(np.float32),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
