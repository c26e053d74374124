"""Child process of the kill tests (tests/integration/test_crash_safety.py).

    python -m tests.integration._kill_child URL MARKER STAGE

Runs the pipeline body (plain steps: the same body, stages and bookkeeping as the Prefect flow)
for one synthetic snapshot against URL and freezes at STAGE: it writes MARKER and sleeps until
the test kills it with SIGKILL. Stages:
  ingest    before the underlying quotes are written
  chains    before the second chain batch is written (the first one is committed)
  rank      before the rankings are written
  risk      before the risk checks are written
  commit    inside the transaction that records the run as completed, before its COMMIT
The freeze is put at the network edge of our code (the backend's bulk-upsert function, the
engine's commit event), never by changing what the pipeline does.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

DAY = dt.date(2026, 11, 24)
SYMBOLS = ["F", "T", "BAC", "INTC", "SOFI", "AAPL", "MSFT"]
TABLE_OF_STAGE = {
    "ingest": ("underlying_quotes", 1),
    "chains": ("option_snapshots", 2),
    "rank": ("rankings", 1),
    "risk": ("risk_checks", 1),
}


def freeze(marker: Path) -> None:
    marker.write_text("frozen")
    while True:
        time.sleep(60)


def main(url: str, marker: Path, stage: str) -> None:
    from wheelflow import db
    from wheelflow.pipeline import run_pipeline
    from wheelflow.providers.synthetic import SyntheticMarket
    from wheelflow.settings import get_settings
    from wheelflow.strategy.config import load_strategy_config

    settings = get_settings().model_copy(update={"chain_batch_size": 3})
    engine = db.make_engine(url)
    db.ensure_schema(engine)

    if stage in TABLE_OF_STAGE:
        table, nth = TABLE_OF_STAGE[stage]
        seen = {"n": 0}
        name = "_upsert_postgres" if engine.dialect.name == "postgresql" else "_upsert_sqlite"
        original = getattr(db, name)

        def upsert(conn: Any, tbl: Any, *args: Any) -> None:
            if tbl.name == table:
                seen["n"] += 1
                if seen["n"] == nth:
                    freeze(marker)
            original(conn, tbl, *args)

        setattr(db, name, upsert)
    else:
        finishing = {"on": False}

        @event.listens_for(engine, "before_cursor_execute")
        def _spot(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.startswith("UPDATE pipeline_runs SET status"):
                finishing["on"] = True

        @event.listens_for(engine, "commit")
        def _hold(conn: Any) -> None:
            if finishing["on"]:
                freeze(marker)

    run_pipeline(
        engine,
        SyntheticMarket(as_of=DAY),
        load_strategy_config(None),
        settings,
        symbols=SYMBOLS,
    )
    print("the run finished without freezing", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
