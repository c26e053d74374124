"""Reads the CLI needs after a run."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine

from wheelflow.db import read_frame


def run_rankings(engine: Engine, run_id: str) -> pd.DataFrame:
    """All rankings of one run, best first per strategy."""
    with engine.connect() as conn:
        return read_frame(
            conn,
            "SELECT * FROM rankings WHERE run_id = :r ORDER BY strategy, rank",
            {"r": run_id},
        )
