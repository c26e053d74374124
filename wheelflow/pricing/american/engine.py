"""American options at European speed: BSM plus an interpolated early-exercise premium.

Method. Scaling time leaves option prices unchanged, so an American put with strike 1 depends
on four numbers only: log-moneyness x = ln(S/K), total volatility v = sigma sqrt(t), and the
drift coordinates alpha = r sqrt(t) / sigma and beta = q sqrt(t) / sigma (rate and yield per
unit of total volatility: both stay below ~2.3 over r <= 8 %, q <= 6 %, t <= 2 years and
sigma >= 5 %, whatever the maturity). A call is a put with spot and strike, r and q swapped
(McDonald and Schroder 1998): C(S, K, r, q) = P(K, S, q, r).

``data/eep_table.npz`` (built by ``scripts/build_american_table.py`` with QuantLib's QdFp
engine, accurate scheme) holds, on a grid of 26 ln v x 19 ln alpha x 20 rho nodes, where
rho = beta / (alpha + beta) = q / (r + q) is the put's yield share (the premium collapses once
q exceeds r, on the scale of r):

- the exercise boundary x*(v, alpha, beta) = ln(B/K): below it the put is worth K - S;
- the early-exercise premium (American minus BSM value, strike units, per unit alpha) at
  x = x* + z v for 25 values of z in [0, 8]: measured from the boundary and in units of v the
  premium is smooth (the kink of the American price sits at z = 0, never inside a cell).

Why a table rather than the Andersen-Lake-Offengenhendel fixed point per contract: ALO needs
~100 normal CDFs per price and several prices per implied volatility; the table needs one
tensor-product interpolation (cubic in each coordinate, 4^4 nodes, compiled with numba) on top
of the exact BSM price, and its derivatives give the greeks and the Newton steps of the IV.

A price is the exact BSM price plus the premium. Greeks are the analytical BSM greeks plus the
derivatives of the same interpolant (chain rule through z and the boundary), consistent with
the prices. The IV is bracketed Newton on that price, started from the European IV of the quote
(an upper bound, since the premium is never negative).

Domain of the table: v in [0.002, 4], alpha up to 2.4 (below its first node, 0.001, the
premium per unit alpha is held), beta in [0, 2.4] (rho above its last node, 0.95, is held: the
premium is negligible there). Contracts outside it are priced by the
Bjerksund-Stensland (2002) fallback of :mod:`wheelflow.pricing.american.bjerksund_stensland`.
Accuracy against QuantLib: tests/unit/test_pricing_american_engine.py and bench/pricing.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from numba import njit

from wheelflow.pricing._inputs import BoolArray, FloatArray

CHUNK = 1 << 14


@dataclass(frozen=True)
class Table:
    """The premium table and its grids (uniform in ln v, ln alpha, beta and z)."""

    ln_v0: float
    h_v: float
    n_v: int
    ln_a0: float
    h_a: float
    n_a: int
    h_b: float  # grid of the yield share rho = beta / (alpha + beta)
    n_b: int
    h_z: float
    n_z: int
    x_star: FloatArray  # flat [v, a, b]
    premium: FloatArray  # flat [v, a, b, z], per unit alpha

    @property
    def z_max(self) -> float:
        return self.h_z * (self.n_z - 1)

    @property
    def alpha_max(self) -> float:
        return float(np.exp(self.ln_a0 + self.h_a * (self.n_a - 1)))

    @property
    def rho_max(self) -> float:
        return self.h_b * (self.n_b - 1)

    @property
    def v_range(self) -> tuple[float, float]:
        return float(np.exp(self.ln_v0)), float(np.exp(self.ln_v0 + self.h_v * (self.n_v - 1)))


@lru_cache(maxsize=1)
def table() -> Table:
    """Load the shipped table once per process."""
    source = resources.files("wheelflow.pricing.american").joinpath("data/eep_table.npz")
    with source.open("rb") as fh, np.load(fh) as data:
        ln_v, ln_a, rho, z = (
            np.asarray(data[k], dtype=np.float64) for k in ("ln_v", "ln_alpha", "rho", "z")
        )
        return Table(
            ln_v0=float(ln_v[0]),
            h_v=float(ln_v[1] - ln_v[0]),
            n_v=ln_v.size,
            ln_a0=float(ln_a[0]),
            h_a=float(ln_a[1] - ln_a[0]),
            n_a=ln_a.size,
            h_b=float(rho[1] - rho[0]),
            n_b=rho.size,
            h_z=float(z[1] - z[0]),
            n_z=z.size,
            x_star=np.ascontiguousarray(data["x_star"], dtype=np.float64).ravel(),
            premium=np.ascontiguousarray(data["premium"], dtype=np.float64).ravel(),
        )


BETA_MAX = 2.4  # beta beyond the validated range goes to the fallback


def in_table_domain(v: FloatArray, alpha: FloatArray, beta: FloatArray) -> BoolArray:
    """True where (v, alpha, beta) lie inside the table (alpha below its first node is fine:
    the premium vanishes like alpha there; so is a yield share q / (r + q) above the last
    node, where the premium is negligible). NaN is outside."""
    tab = table()
    v_min, v_max = tab.v_range
    return (
        (v >= v_min)
        & (v <= v_max)
        & (alpha > 0.0)
        & (alpha <= tab.alpha_max)
        & (beta >= 0.0)
        & (beta <= BETA_MAX)
    )


@dataclass
class Premium:
    """Early-exercise premium of a normalised put (strike 1) and its partial derivatives.

    ``value`` and the derivatives are in strike units, with respect to x = ln(S/K), ln v,
    alpha and beta. ``exercise`` is True below the boundary (the put is worth 1 - e^x).
    """

    value: FloatArray
    exercise: BoolArray
    d_x: FloatArray
    d_xx: FloatArray
    d_lnv: FloatArray
    d_alpha: FloatArray
    d_beta: FloatArray


def premium(
    x: FloatArray, v: FloatArray, alpha: FloatArray, beta: FloatArray, derivatives: bool
) -> Premium:
    """Interpolated premium at (x, v, alpha, beta), 1-D arrays inside the table domain.

    Cubic in z, ln v, ln alpha and the yield share rho = beta / (alpha + beta) (4^4 nodes,
    compiled). Below the first alpha node the
    premium per unit alpha is held and the boundary follows ln alpha (its perpetual-put
    asymptote). Without ``derivatives`` only ``value`` and ``exercise`` are filled.
    """
    tab = table()
    n = x.size
    out = np.zeros((6 if derivatives else 1, n))
    exercise = np.zeros(n, dtype=np.bool_)
    _premium_kernel(
        np.ascontiguousarray(x, dtype=np.float64),
        np.ascontiguousarray(v, dtype=np.float64),
        np.ascontiguousarray(alpha, dtype=np.float64),
        np.ascontiguousarray(beta, dtype=np.float64),
        derivatives,
        tab.x_star,
        tab.premium,
        np.array([tab.ln_v0, tab.h_v, tab.ln_a0, tab.h_a, tab.h_b, tab.h_z]),
        np.array([tab.n_v, tab.n_a, tab.n_b, tab.n_z], dtype=np.int64),
        out,
        exercise,
    )
    if not derivatives:
        zero = np.zeros(n)
        return Premium(out[0], exercise, zero, zero, zero, zero, zero)
    return Premium(out[0], exercise, out[1], out[2], out[3], out[4], out[5])


@njit(cache=True, nogil=True)
def _lagrange(t: float, w: np.ndarray, d: np.ndarray, dd: np.ndarray) -> None:  # pragma: no cover
    """Cubic Lagrange weights on nodes -1, 0, 1, 2 at t, and their t-derivatives."""
    tm1, tp1, tm2 = t - 1.0, t + 1.0, t - 2.0
    w[0] = -t * tm1 * tm2 / 6.0
    w[1] = tp1 * tm1 * tm2 / 2.0
    w[2] = -tp1 * t * tm2 / 2.0
    w[3] = tp1 * t * tm1 / 6.0
    t2 = t * t
    d[0] = -(3.0 * t2 - 6.0 * t + 2.0) / 6.0
    d[1] = (3.0 * t2 - 4.0 * t - 1.0) / 2.0
    d[2] = -(3.0 * t2 - 2.0 * t - 2.0) / 2.0
    d[3] = (3.0 * t2 - 1.0) / 6.0
    dd[0] = -(t - 1.0)
    dd[1] = 3.0 * t - 2.0
    dd[2] = -(3.0 * t - 1.0)
    dd[3] = t


@njit(cache=True, nogil=True)
def _stencil(u: float, n: int) -> tuple[int, float]:  # pragma: no cover
    """First node of the 4-node stencil around u and the offset from its second node."""
    i = int(np.floor(u)) - 1
    i = min(max(i, 0), n - 4)
    return i, u - (i + 1)


@njit(cache=True, nogil=True)
def _premium_kernel(  # pragma: no cover - compiled; tested through premium()
    x: np.ndarray,
    v: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray,
    derivatives: bool,
    x_star: np.ndarray,
    prem: np.ndarray,
    steps: np.ndarray,
    sizes: np.ndarray,
    out: np.ndarray,
    exercise: np.ndarray,
) -> None:
    """One contract at a time (compiled): the tensor-product interpolation and its chain rule.

    out rows: value, d/dx, d2/dx2, d/d ln v, d/d alpha, d/d beta (strike units)."""
    ln_v0, h_v, ln_a0, h_a, h_b, h_z = steps[0], steps[1], steps[2], steps[3], steps[4], steps[5]
    n_v, n_a, n_b, n_z = sizes[0], sizes[1], sizes[2], sizes[3]
    z_max = h_z * (n_z - 1)
    wv, dwv, ddv = np.empty(4), np.empty(4), np.empty(4)
    wa, dwa, dda = np.empty(4), np.empty(4), np.empty(4)
    wz, dwz, ddwz = np.empty(4), np.empty(4), np.empty(4)
    wb, dwb, ddb = np.empty(4), np.empty(4), np.empty(4)
    stride_a = n_b
    stride_v = n_a * n_b
    for e in range(x.size):
        ln_v = np.log(v[e])
        ln_a = np.log(alpha[e])
        below = min(ln_a - ln_a0, 0.0)
        iv, tv = _stencil((ln_v - ln_v0) / h_v, n_v)
        ia, ta = _stencil(max(ln_a - ln_a0, 0.0) / h_a, n_a)
        rho = beta[e] / (alpha[e] + beta[e])
        rho_max = h_b * (n_b - 1)
        inside_r = rho < rho_max
        # r = q (rho = 1/2) is a kink of the boundary (B -> K min(1, r/q) at expiry): the
        # stencil stays on one side of it
        ub = min(rho, rho_max) / h_b
        kink = int(0.5 / h_b + 0.5)  # the node at rho = 1/2
        ib = int(np.floor(ub)) - 1
        ib = min(max(ib, 0), kink - 3) if ub < kink else min(max(ib, kink), n_b - 4)
        tb = ub - (ib + 1)
        _lagrange(tv, wv, dwv, ddv)
        _lagrange(ta, wa, dwa, dda)
        _lagrange(tb, wb, dwb, ddb)
        base = (iv * n_a + ia) * n_b + ib
        xs = 0.0
        xs_v = 0.0
        xs_a = 0.0
        xs_b = 0.0
        for k in range(4):
            dwb[k] /= h_b
        for ma in range(4):
            for mb in range(4):
                node = base + ma * stride_a + mb
                along = 0.0
                along_v = 0.0
                for m in range(4):
                    value = x_star[node + m * stride_v]
                    along += wv[m] * value
                    along_v += dwv[m] * value
                xs += wa[ma] * wb[mb] * along
                xs_v += wa[ma] * wb[mb] * along_v
                xs_a += dwa[ma] * wb[mb] * along
                xs_b += wa[ma] * dwb[mb] * along
        xs += below  # below the first alpha node the boundary falls like ln alpha
        z = (x[e] - xs) / v[e]
        if z < 0.0:
            exercise[e] = True
            continue  # worth the exercise value: no premium over it is used
        if z > z_max:
            continue  # far out of the money: the premium is below the table's resolution
        iz, tz = _stencil(z / h_z, n_z)
        _lagrange(tz, wz, dwz, ddwz)
        h = 0.0
        h_zd = 0.0
        h_zz = 0.0
        h_vd = 0.0
        h_ad = 0.0
        h_bd = 0.0
        flat0 = base * n_z + iz
        for ma in range(4):
            for mb in range(4):
                node = flat0 + (ma * stride_a + mb) * n_z
                wab = wa[ma] * wb[mb]
                for m in range(4):
                    at = node + m * stride_v * n_z
                    p0, p1, p2, p3 = prem[at], prem[at + 1], prem[at + 2], prem[at + 3]
                    row = wz[0] * p0 + wz[1] * p1 + wz[2] * p2 + wz[3] * p3
                    weight = wab * wv[m]
                    h += weight * row
                    if derivatives:
                        h_zd += weight * (dwz[0] * p0 + dwz[1] * p1 + dwz[2] * p2 + dwz[3] * p3)
                        h_zz += weight * (ddwz[0] * p0 + ddwz[1] * p1 + ddwz[2] * p2 + ddwz[3] * p3)
                        h_vd += wab * dwv[m] * row
                        h_ad += dwa[ma] * wb[mb] * wv[m] * row
                        h_bd += wa[ma] * dwb[mb] * wv[m] * row
        a = alpha[e]
        out[0, e] = a * h  # the table holds the premium per unit alpha
        if not derivatives:
            continue
        inside_a = below == 0.0
        inv_v = 1.0 / v[e]
        g_z = a * h_zd / h_z
        g_zz = a * h_zz / (h_z * h_z)
        g_v = a * h_vd / h_v
        g_a = h + (h_ad / h_a if inside_a else 0.0)  # d(alpha H(ln alpha)) / d alpha
        g_r = a * h_bd if inside_r else 0.0
        dxs_r = xs_b if inside_r else 0.0
        dxs_v = xs_v / h_v
        dxs_a = (xs_a / h_a if inside_a else 1.0) / a
        d_x = g_z * inv_v
        # chain rule: z = (x - x*(ln v, alpha, rho)) / v, rho = beta / (alpha + beta)
        sum_ab = a + beta[e]
        d_rho = g_r - d_x * dxs_r
        out[1, e] = d_x
        out[2, e] = g_zz * inv_v * inv_v
        out[3, e] = g_v - g_z * (dxs_v * inv_v + z)
        out[4, e] = g_a - d_x * dxs_a - d_rho * beta[e] / (sum_ab * sum_ab)
        out[5, e] = d_rho * a / (sum_ab * sum_ab)
