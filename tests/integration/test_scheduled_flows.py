"""The scheduled entry points as an operator sees them in Prefect: skipped runs are not green,
parameters sent as the UI sends them (JSON strings) are validated and converted."""

from __future__ import annotations

import datetime as dt

import pytest
from prefect.exceptions import ParameterTypeError

from flows.pipeline import wheel_pipeline
from flows.scheduled import after_close_expirations, market_hours_pipeline

pytestmark = pytest.mark.usefixtures("prefect_harness")
SATURDAY_NOON_UTC = dt.datetime(2026, 12, 5, 17, 0)
THANKSGIVING_UTC = dt.datetime(2026, 11, 26, 16, 0)


@pytest.mark.parametrize("at", [SATURDAY_NOON_UTC, THANKSGIVING_UTC])
def test_a_pipeline_run_outside_market_hours_ends_skipped_not_completed(at: dt.datetime) -> None:
    state = market_hours_pipeline(at=at, return_state=True)
    assert state.is_cancelled() and not state.is_completed()
    assert state.name == "Skipped"
    assert state.message and state.message.startswith("skipped: ")


def test_expirations_before_the_close_end_skipped() -> None:
    state = after_close_expirations(at=dt.datetime(2026, 12, 1, 15, 0), return_state=True)
    assert state.name == "Skipped" and state.is_cancelled()


def test_snapshot_at_from_the_ui_is_parsed_before_the_run_starts() -> None:
    # The UI sends JSON: a datetime is an ISO string; a wrong one is refused up front.
    with pytest.raises(ParameterTypeError, match="snapshot_at"):
        wheel_pipeline(snapshot_at="yesterday-ish")  # type: ignore[arg-type]


def test_symbols_from_the_ui_must_be_a_list_of_strings() -> None:
    with pytest.raises(ParameterTypeError, match="symbols"):
        wheel_pipeline(symbols=[{"not": "a symbol"}])  # type: ignore[list-item]


def test_an_iso_snapshot_at_and_symbols_run_the_pipeline_for_that_snapshot(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from wheelflow.providers.synthetic import SyntheticMarket

    summary = wheel_pipeline(
        snapshot_at="2026-11-24T21:00:00",  # type: ignore[arg-type]
        symbols=["f", "t", "intc"],
        provider=SyntheticMarket(as_of=dt.date(2026, 11, 24)),
        database_url=str(sqlite_engine.url),
    )
    assert summary["run_id"] == "20261124T210000Z"
    assert summary["status"] == "completed"
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_="gate-"))
        )
    keys = {a.key for a in artifacts}
    assert {"gate-quotes", "gate-chains", "gate-greeks"} <= keys, keys
    table = next(a for a in artifacts if a.key == "gate-greeks").data
    assert "rows_checked" in str(table) and "rows_refused" in str(table)
