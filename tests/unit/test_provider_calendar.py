"""The NYSE calendar that gates scheduled runs: holidays, regular hours, early closes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from wheelflow import calendar

THANKSGIVING = dt.date(2026, 11, 26)
BLACK_FRIDAY = dt.date(2026, 11, 27)  # closes 13:00 New York = 18:00 UTC


def test_holidays_and_weekends_are_not_sessions() -> None:
    assert not calendar.is_trading_day(THANKSGIVING)
    assert not calendar.is_trading_day(dt.date(2026, 11, 28))  # Saturday
    assert calendar.is_trading_day(BLACK_FRIDAY)


def test_sessions_in_a_range_skip_the_holiday() -> None:
    days = calendar.sessions(dt.date(2026, 11, 24), dt.date(2026, 11, 30))
    assert days == [
        dt.date(2026, 11, 24),
        dt.date(2026, 11, 25),
        BLACK_FRIDAY,
        dt.date(2026, 11, 30),
    ]


def test_early_closes_are_listed_with_their_utc_close() -> None:
    closes = calendar.early_closes(dt.date(2026, 11, 1), dt.date(2026, 12, 31))
    assert closes == [
        (BLACK_FRIDAY, dt.datetime(2026, 11, 27, 18, 0)),
        (dt.date(2026, 12, 24), dt.datetime(2026, 12, 24, 18, 0)),
    ]


def test_market_is_open_from_the_open_until_before_the_close() -> None:
    assert calendar.is_market_open(dt.datetime(2026, 11, 25, 14, 30))  # 09:30 New York
    assert not calendar.is_market_open(dt.datetime(2026, 11, 25, 14, 29))
    assert not calendar.is_market_open(dt.datetime(2026, 11, 25, 21, 0))  # 16:00 New York


def test_next_close_after_a_holiday_is_the_early_close() -> None:
    assert calendar.next_close(dt.datetime(2026, 11, 26, 15, 0)) == dt.datetime(2026, 11, 27, 18, 0)
    assert calendar.next_open(dt.datetime(2026, 11, 26, 15, 0)) == dt.datetime(2026, 11, 27, 14, 30)


def test_intraday_gate_skips_holidays_and_the_afternoon_of_an_early_close() -> None:
    assert not calendar.market_gate("intraday", dt.datetime(2026, 11, 26, 16, 0)).run
    late = calendar.market_gate("intraday", dt.datetime(2026, 11, 27, 18, 15))
    assert not late.run
    assert late.reason == "after the close (18:00 UTC)"
    assert calendar.market_gate("intraday", dt.datetime(2026, 11, 27, 17, 45)).run


def test_after_close_gate_waits_for_the_close_of_a_session() -> None:
    assert not calendar.market_gate("after_close", dt.datetime(2026, 11, 25, 20, 0)).run
    assert calendar.market_gate("after_close", dt.datetime(2026, 11, 25, 21, 10)).run
    assert calendar.market_gate("after_close", dt.datetime(2026, 11, 27, 18, 10)).run
    assert not calendar.market_gate("after_close", dt.datetime(2026, 11, 26, 22, 0)).run


def test_prefect_yaml_schedules_fire_on_weekdays_in_new_york_and_go_through_the_gate() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    spec = yaml.safe_load((root / "deployments" / "prefect.yaml").read_text())
    by_name = {d["name"]: d for d in spec["deployments"]}
    intraday = by_name["wheel-pipeline-market-hours"]
    assert intraday["entrypoint"] == "flows/scheduled.py:market_hours_pipeline"
    assert intraday["schedules"][0]["cron"].endswith("* * 1-5")
    # Every scheduled deployment runs on New York time (on-demand ones have no schedule).
    assert {s["timezone"] for d in spec["deployments"] for s in d.get("schedules") or []} == {
        "America/New_York"
    }
    assert by_name["expirations-after-close"]["entrypoint"].endswith(":after_close_expirations")
