"""Pricing-engine benchmark: implied volatility (and greeks) throughput, single thread.

Run: ``.venv/bin/python bench/pricing.py [--sizes 1e4,1e5,1e6] [--repeats 3]``

Prints, for each N, seconds and contracts/s for: one plain vectorized BSM price pass (the
yardstick), wheelflow IV alone, wheelflow IV + greeks, pyvolr (Rust; skipped if not installed)
and vollib's scalar loop (timed on a subsample and extrapolated). Best of ``--repeats`` runs.
Peak memory: tracemalloc peak of the largest wheelflow IV + greeks call, and the process maxrss.

American section (``--american-n``, default 1e6): wheelflow American price, IV and IV + greeks
on the held-out grid of tests/unit/test_pricing_american_engine.py, beside QuantLib's engines
measured in the same run (per-option loops timed on subsamples and extrapolated; skipped with a
reason if QuantLib is absent), then the price errors against QuantLib's QdFp accurate scheme
(``--american-check`` contracts) and, with cash dividends, against its finite-difference engine
(escrowed model): max and 99.9th percentile of the error over the issue's tolerance (1e-4 of
the price or 0.001 USD, whichever is larger).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[_var] = "1"  # single thread everywhere, before numpy / pyvolr load

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402

import numpy as np  # noqa: E402
from scipy.special import ndtr  # noqa: E402

from wheelflow.pricing import (  # noqa: E402
    american,
    greeks,
    implied_volatility,
    iv_and_greeks,
    price,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.pricing_reference import (  # noqa: E402
    QuantLibAmerican,
    american_contracts,
    quarterly_dividends,
    random_contracts,
)
from wheelflow.pricing.dividends import CashDividends  # noqa: E402

pyvolr_bs: ModuleType | None
try:
    from pyvolr import bs as pyvolr_bs
except ImportError:  # pragma: no cover - optional comparison
    pyvolr_bs = None

VOLLIB_SAMPLE = 2000
# wall clock by default; process CPU time (--clock cpu) when other jobs share the machine
CLOCK: list[Callable[[], float]] = [time.perf_counter]
QUANTLIB_SAMPLES = {"baw": 3000, "bjs": 3000, "qdfp_fast": 1000, "qdfp": 300}
QUANTLIB_NAMES = {
    "baw": "QuantLib Barone-Adesi-Whaley",
    "bjs": "QuantLib Bjerksund-Stensland",
    "qdfp_fast": "QuantLib QdFp fast",
    "qdfp": "QuantLib QdFp accurate",
}


def market(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Random chain (see :func:`random_contracts`) priced with the European BSM formula."""
    m = random_contracts(n, seed)
    m["price"] = price(m["spot"], m["strike"], m["t"], m["r"], m["q"], m["sigma"], m["is_call"])
    return m


def plain_bsm_price(m: dict[str, np.ndarray]) -> np.ndarray:
    """One textbook vectorized BSM price evaluation (no input checks): the yardstick."""
    s, k, t, r, q, v = m["spot"], m["strike"], m["t"], m["r"], m["q"], m["sigma"]
    vol_sqrt_t = v * np.sqrt(t)
    d1 = (np.log(s / k) + (r - q) * t) / vol_sqrt_t + 0.5 * vol_sqrt_t
    d2 = d1 - vol_sqrt_t
    sign = np.where(m["is_call"], 1.0, -1.0)
    return sign * (s * np.exp(-q * t) * ndtr(sign * d1) - k * np.exp(-r * t) * ndtr(sign * d2))


def price_vega(m: dict[str, np.ndarray]) -> np.ndarray:
    """BSM vega (per 1 percentage point) at the true sigma, for the agreement check only."""
    g = greeks(m["spot"], m["strike"], m["t"], m["r"], m["q"], m["sigma"], m["is_call"])
    return g["vega"]


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """Best of ``repeats`` runs, on the clock chosen with ``--clock`` (see :data:`CLOCK`)."""
    best = float("inf")
    for _ in range(repeats):
        start = CLOCK[0]()
        fn()
        best = min(best, CLOCK[0]() - start)
    return best


def vollib_seconds_per_contract(m: dict[str, np.ndarray]) -> tuple[float, float]:
    """Seconds per contract of vollib's scalar loop: IV alone, IV + five analytical greeks."""
    from vollib.black_scholes_merton.greeks import analytical
    from vollib.black_scholes_merton.implied_volatility import implied_volatility as vollib_iv

    n = min(VOLLIB_SAMPLE, m["price"].size)
    rows = list(
        zip(
            m["price"][:n],
            m["spot"][:n],
            m["strike"][:n],
            m["t"][:n],
            m["r"][:n],
            m["q"][:n],
            np.where(m["is_call"][:n], "c", "p"),
            strict=True,
        )
    )

    def iv_loop(with_greeks: bool) -> None:
        for p, s, k, t, r, q, flag in rows:
            try:
                sigma = vollib_iv(p, s, k, t, r, q, flag)
            except Exception:  # vollib raises on prices outside the bounds
                continue
            if with_greeks:
                for greek in (
                    analytical.delta,
                    analytical.gamma,
                    analytical.theta,
                    analytical.vega,
                    analytical.rho,
                ):
                    greek(flag, s, k, t, r, sigma, q)

    iv_only = best_time(lambda: iv_loop(False), 1) / n
    with_greeks = best_time(lambda: iv_loop(True), 1) / n
    return iv_only, with_greeks


def pyvolr_runs(
    m: dict[str, np.ndarray],
) -> tuple[Callable[[], np.ndarray], Callable[[], object]]:
    assert pyvolr_bs is not None
    flags = np.where(m["is_call"], 1, -1).astype(np.int8)
    args = (flags, m["spot"], m["strike"], m["t"], m["r"])

    def iv() -> np.ndarray:
        return np.asarray(pyvolr_bs.implied_vol(m["price"], *args, m["q"], on_error="ignore"))

    def iv_greeks() -> object:
        sigma = iv()
        return pyvolr_bs.greeks(*args, sigma, m["q"])

    return iv, iv_greeks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--american-n", type=float, default=1e6)
    parser.add_argument("--american-check", type=int, default=20_000)
    parser.add_argument("--dividend-check", type=int, default=200)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="cpu: process CPU time, robust when other jobs load the machine (single thread)",
    )
    args = parser.parse_args()
    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter
    sizes = [int(float(v)) for v in args.sizes.split(",")]
    warnings.simplefilter("ignore")  # pyvolr warns on unsolvable quotes; we time, not judge

    print(f"single thread (OMP/OPENBLAS/MKL/RAYON_NUM_THREADS=1), {args.clock} clock, best of runs")
    if pyvolr_bs is None:
        print("pyvolr: not installed, skipped")
    implied_volatility(1.0, 100.0, 100.0, 0.5, 0.0, 0.0, True)  # build the guess table once
    vollib_iv_s, vollib_all_s = vollib_seconds_per_contract(market(VOLLIB_SAMPLE, seed=99))
    header = f"{'N':>9} {'method':<28} {'seconds':>9} {'contracts/s':>13} {'x BSM pass':>10}"
    print(header)
    print("-" * len(header))
    for n in sizes:
        m = market(n)
        reps = args.repeats if n < 1_000_000 else max(3, args.repeats // 2)
        inputs = (m["price"], m["spot"], m["strike"], m["t"], m["r"], m["q"], m["is_call"])
        timings: dict[str, float] = {
            "BSM price pass (numpy)": best_time(partial(plain_bsm_price, m), reps),
            "wheelflow IV": best_time(partial(implied_volatility, *inputs), reps),
            "wheelflow IV+greeks": best_time(partial(iv_and_greeks, *inputs), reps),
        }
        if pyvolr_bs is not None:
            iv, iv_greeks = pyvolr_runs(m)
            timings["pyvolr IV"] = best_time(iv, reps)
            timings["pyvolr IV+greeks"] = best_time(iv_greeks, reps)
        timings["vollib IV (extrapolated)"] = vollib_iv_s * n
        timings["vollib IV+greeks (extrap.)"] = vollib_all_s * n
        base = timings["BSM price pass (numpy)"]
        for name, seconds in timings.items():
            print(
                f"{n:>9} {name:<28} {seconds:>9.4f} {n / seconds:>13,.0f} {seconds / base:>10.2f}"
            )
        if pyvolr_bs is not None:
            ours_iv, ours_all = timings["wheelflow IV"], timings["wheelflow IV+greeks"]
            print(
                f"{n:>9} throughput vs pyvolr: IV {timings['pyvolr IV'] / ours_iv:.2f}x, "
                f"IV+greeks {timings['pyvolr IV+greeks'] / ours_all:.2f}x"
            )
            ours = implied_volatility(*inputs)
            theirs = pyvolr_runs(m)[0]()
            vega = price_vega(m)
            # sigma is only determined where a 1e-10 move in it moves the price by > 1e-16 of it
            both = np.isfinite(ours) & np.isfinite(theirs) & (100 * vega >= 1e-6 * m["price"])
            print(
                f"{n:>9} max |IV wheelflow - IV pyvolr| = {np.max(np.abs(ours - theirs)[both]):.2e}"
                f" on the {both.sum()} contracts both solved with vega >= 1e-6 price"
            )
        print()
    print(
        f"vollib: scalar loop timed on {VOLLIB_SAMPLE} contracts, "
        "per-contract time extrapolated to N"
    )

    american_section(int(args.american_n), args.repeats, args.american_check, args.dividend_check)

    m = market(sizes[-1])
    inputs = (m["price"], m["spot"], m["strike"], m["t"], m["r"], m["q"], m["is_call"])
    tracemalloc.start()
    iv_and_greeks(*inputs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"peak memory of wheelflow IV+greeks at N={sizes[-1]:,}: "
        f"{peak / 2**20:.0f} MiB (tracemalloc)"
    )
    print(f"process max RSS (inputs, outputs, all libraries): {maxrss_mb:.0f} MiB")


def quantlib_available() -> str | None:
    """None if QuantLib imports, else the reason it is skipped."""
    try:
        import QuantLib  # noqa: F401
    except ImportError as exc:
        return f"QuantLib not installed ({exc}); pip install QuantLib (dev extra)"
    return None


def error_ratios(ours: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|error| over the issue's tolerance: max(1e-4 of the reference, 0.001 USD)."""
    return np.abs(ours - reference) / np.maximum(1e-4 * reference, 1e-3)


def american_section(n: int, repeats: int, check: int, dividend_check: int) -> None:
    c = american_contracts(n, seed=2024)
    a = (c["spot"], c["strike"], c["t"], c["r"], c["q"], c["sigma"], c["is_call"])
    quotes = american.price(*a)
    iv_args = (quotes, *a[:5], a[6])
    reps = max(1, repeats // 2)
    american.iv_and_greeks(*(x[:1000] for x in iv_args))  # load the table
    timings = {
        "wheelflow American price": best_time(partial(american.price, *a), reps),
        "wheelflow American IV": best_time(partial(american.implied_volatility, *iv_args), reps),
        "wheelflow American IV+greeks": best_time(partial(american.iv_and_greeks, *iv_args), reps),
        "wheelflow European IV+greeks": best_time(partial(iv_and_greeks, *iv_args), reps),
    }
    print(
        f"American options, N = {n:,}: held-out grid (tests/pricing_reference.american_contracts)"
    )
    reason = quantlib_available()
    if reason is None:
        for engine, sample in QUANTLIB_SAMPLES.items():
            ref = QuantLibAmerican(engine)  # per option: quotes set, option built, NPV
            sub = [x[:sample] for x in a]
            per_option = best_time(partial(ref.price, *sub), 1) / sample
            timings[f"{QUANTLIB_NAMES[engine]} price (extrap.)"] = per_option * n
    else:
        print(f"QuantLib rows skipped: {reason}")
    ours = timings["wheelflow American IV+greeks"]
    header = f"{'method':<42} {'seconds':>9} {'contracts/s':>13} {'x ours IV+greeks':>17}"
    print(header)
    print("-" * len(header))
    for name, seconds in timings.items():
        print(f"{name:<42} {seconds:>9.3f} {n / seconds:>13,.0f} {seconds / ours:>17.2f}")
    if reason is not None:
        return
    print(f"QuantLib: per-option loops timed on {QUANTLIB_SAMPLES} contracts, extrapolated to N")

    c = american_contracts(check, seed=4048)
    a = (c["spot"], c["strike"], c["t"], c["r"], c["q"], c["sigma"], c["is_call"])
    reference = QuantLibAmerican("qdfp").price(*a)
    ours = american.price(*a)
    ratios = error_ratios(ours, reference)
    priced = reference >= 0.01  # relative errors of quotes worth at least a cent
    rel = np.abs(ours - reference)[priced] / reference[priced]
    print(
        f"price vs QdFp accurate, {check:,} held-out contracts: error / tolerance max "
        f"{ratios.max():.3f}, 99.9th pct {np.quantile(ratios, 0.999):.3f}, 99th "
        f"{np.quantile(ratios, 0.99):.3f} (tolerance = max(1e-4 price, 0.001 USD)); "
        f"relative error (prices >= 0.01) max {rel.max():.2e}, 99.9th pct "
        f"{np.quantile(rel, 0.999):.2e}, 99th {np.quantile(rel, 0.99):.2e}"
    )
    c = american_contracts(dividend_check, seed=4049)
    c["sigma"] = np.minimum(c["sigma"], 1.0)
    times, amounts = quarterly_dividends(c["spot"], seed=4049)
    a = (c["spot"], c["strike"], c["t"], c["r"], c["q"], c["sigma"], c["is_call"])
    reference = QuantLibAmerican("fd", grid=800).price(*a, times, amounts)
    ours = american.price(*a, dividends=CashDividends.from_rows(times, amounts))
    ratios = error_ratios(ours, reference)
    for label, mask in (("calls", c["is_call"]), ("puts", ~c["is_call"])):
        print(
            f"price with 0-8 cash dividends vs QuantLib FD (escrowed, 800x800), {mask.sum()} "
            f"{label}: error / tolerance max {ratios[mask].max():.3f}, 99th pct "
            f"{np.quantile(ratios[mask], 0.99):.3f}, median {np.median(ratios[mask]):.3f}"
        )
    print()


if __name__ == "__main__":
    main()
