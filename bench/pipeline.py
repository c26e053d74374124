"""Benchmark: one ``wheel_pipeline`` run for 30, 300 and 3,000 synthetic underlyings, on SQLite
and PostgreSQL, with the time of every stage.

    python bench/pipeline.py [--sizes 30,300,3000] [--backends sqlite,postgresql]
                             [--exercise european,american]

Target (issue 2): 3,000 underlyings (~1M contracts) end to end in under 5 minutes on a 2-core
machine. The price window is opened wide (max underlying price 1,000,000) so that every
underlying is screened: the worst case. ``--exercise european,american`` runs each size under
both IV models (``WHEELFLOW_EXERCISE_STYLE``) and prints the American / European time ratio
(issue 13: within 1.5x at 3,000 underlyings).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._db import drop_database, fresh_database

os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

DAY = dt.date(2026, 11, 24)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,300,3000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--exercise", default="european", help="comma list: european,american")
    args = parser.parse_args()
    styles = args.exercise.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    backends = args.backends.split(",")

    workdir = Path(tempfile.mkdtemp(prefix="wheelflow-bench-"))
    strategy = workdir / "strategy.toml"
    strategy.write_text("[screening]\nmax_underlying_price = 1000000\n")
    os.environ["WHEELFLOW_DATA_DIR"] = str(workdir)
    os.environ["WHEELFLOW_SEED_DEMO_POSITIONS"] = "true"

    from prefect.testing.utilities import prefect_test_harness

    from flows.pipeline import wheel_pipeline
    from wheelflow.providers.synthetic import SyntheticMarket
    from wheelflow.settings import get_settings

    rows = []
    with prefect_test_harness(server_startup_timeout=180):
        # Warm-up: imports (Great Expectations ~3-7 s) and the first flow run are not measured.
        url, handle = fresh_database("sqlite", workdir)
        warm = SyntheticMarket(as_of=DAY, universe_size=30)
        wheel_pipeline(
            provider=warm, database_url=url, symbols=warm.symbols[:3], strategy_file=str(strategy)
        )
        for backend in backends:
            for size in sizes:
                for style in styles:  # same conditions back to back: the ratio is fair
                    os.environ["WHEELFLOW_EXERCISE_STYLE"] = style
                    get_settings.cache_clear()  # the process-wide settings re-read the style
                    market = SyntheticMarket(as_of=DAY, universe_size=size)
                    url, handle = fresh_database(backend, workdir)
                    start = time.perf_counter()
                    summary = wheel_pipeline(
                        provider=market,
                        database_url=url,
                        symbols=market.symbols,
                        strategy_file=str(strategy),
                    )
                    total = time.perf_counter() - start
                    drop_database(handle)
                    rows.append((backend, size, style, summary, total))
                    stages = "  ".join(f"{k}={v:.1f}s" for k, v in summary["stage_seconds"].items())
                    print(
                        f"{backend:10s} {size:>5d} underlyings {style:8s} "
                        f"{summary['contracts']:>9,d} contracts {summary['rankings']:>5d} ranked  "
                        f"total {total:7.1f}s  | {stages}",
                        flush=True,
                    )
    print()
    print(
        "backend     underlyings exercise    contracts   total s   contracts/s"
        "   target(3000 < 300 s)  x european"
    )
    european = {(b, n): total for b, n, style, _, total in rows if style == "european"}
    for backend, size, style, summary, total in rows:
        verdict = ("met" if total < 300 else "MISSED") if size == 3000 else ""
        ratio = total / european[(backend, size)] if (backend, size) in european else float("nan")
        print(
            f"{backend:10s} {size:>12d} {style:8s} {summary['contracts']:>11,d} {total:9.1f} "
            f"{summary['contracts'] / total:>13,.0f}   {verdict:>20s}  {ratio:10.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
