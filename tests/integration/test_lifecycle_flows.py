"""The ``execute_wheel`` flow on a stored snapshot: re-running it sends nothing new."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from tests.integration._lifecycle_market import DAY1, put_occ, store_quote, store_ranking


def _orders(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT side, status FROM orders")).all()]


def test_execute_wheel_twice_for_the_same_snapshot_places_no_second_order(
    prefect_harness: None, engine: Engine, database_url: str
) -> None:
    from flows.wheel import execute_wheel

    store_quote(engine, DAY1, 52.0, {put_occ(): (1.10, 1.30)})
    store_ranking(engine)
    first = execute_wheel(database_url=database_url)
    second = execute_wheel(snapshot_at=DAY1, database_url=database_url)
    assert (first["orders_sent"], first["filled"]) == (1, 1)
    assert second["orders_sent"] == 0
    assert _orders(engine) == [("sell_to_open", "filled")]


@pytest.fixture(autouse=True)
def _fresh_engine_cache() -> None:
    """Each test has its own database; forget engines cached by URL in earlier tests."""
    from wheelflow import runtime

    runtime._engines.clear()
