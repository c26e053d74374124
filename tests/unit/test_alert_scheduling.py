"""When an alert may go out on a channel: digest windows, quiet hours, severity and kind filters."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from wheelflow.alerts.outbox import Channel, plan_deliveries, release_times


def _at(*times: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(times)))


def _sev(*values: str) -> pd.Series:
    return pd.Series(list(values))


def test_without_quiet_hours_or_digest_an_alert_goes_out_at_once():
    out = release_times(_at("2026-12-02 15:04:05"), _sev("info"), Channel("env:0", "json://x"))
    assert out.iloc[0] == pd.Timestamp("2026-12-02 15:04:05")


def test_a_digest_channel_sends_at_the_end_of_the_aligned_window():
    channel = Channel("sub:1:0", "json://x", digest_minutes=15)
    out = release_times(
        _at("2026-12-02 15:00:00", "2026-12-02 15:14:59", "2026-12-02 15:15:00"),
        _sev("info", "warning", "info"),
        channel,
    )
    assert list(out) == [
        pd.Timestamp("2026-12-02 15:15"),
        pd.Timestamp("2026-12-02 15:15"),
        pd.Timestamp("2026-12-02 15:30"),
    ]


def test_critical_alerts_bypass_digest_and_quiet_hours():
    channel = Channel(
        "sub:1:0",
        "json://x",
        digest_minutes=60,
        quiet_start="00:00",
        quiet_end="23:59",
        timezone="America/New_York",
    )
    out = release_times(_at("2026-12-02 15:04:05"), _sev("critical"), channel)
    assert out.iloc[0] == pd.Timestamp("2026-12-02 15:04:05")


def test_overnight_quiet_hours_hold_messages_until_they_end_in_the_users_time_zone():
    # 22:00-07:00 in New York (UTC-5 in December): 03:30 UTC is 22:30 local, held to 07:00
    # local = 12:00 UTC; 13:00 UTC is 08:00 local, outside the window.
    channel = Channel(
        "sub:1:0", "json://x", quiet_start="22:00", quiet_end="07:00", timezone="America/New_York"
    )
    out = release_times(
        _at("2026-12-02 03:30", "2026-12-02 13:00", "2026-12-02 11:59"),
        _sev("warning", "warning", "info"),
        channel,
    )
    assert list(out) == [
        pd.Timestamp("2026-12-02 12:00"),
        pd.Timestamp("2026-12-02 13:00"),
        pd.Timestamp("2026-12-02 12:00"),
    ]


def test_a_daytime_quiet_window_releases_the_same_day():
    channel = Channel("sub:1:0", "json://x", quiet_start="09:00", quiet_end="17:00")
    out = release_times(_at("2026-12-02 10:00", "2026-12-02 17:00"), _sev("info", "info"), channel)
    assert list(out) == [pd.Timestamp("2026-12-02 17:00"), pd.Timestamp("2026-12-02 17:00")]


def _alerts() -> pd.DataFrame:
    now = dt.datetime(2026, 12, 2, 15, 0)
    return pd.DataFrame(
        {
            "id": [1, 2, 3],
            "kind": ["new_top_opportunity", "risk_breach", "data_quality"],
            "severity": ["info", "warning", "critical"],
            "created_at": [now, now, now],
        }
    )


def test_plan_keeps_only_the_kinds_and_severities_a_channel_subscribed_to():
    channels = [
        Channel("env:0", "json://all"),
        Channel("sub:7:0", "json://risk", subscription_id=7, kinds=("risk_breach", "data_quality")),
        Channel("sub:8:0", "json://loud", subscription_id=8, min_severity="critical"),
    ]
    plan = plan_deliveries(_alerts(), channels)
    got = sorted(zip(plan["channel_key"], plan["alert_id"], strict=True))
    assert got == [
        ("env:0", 1),
        ("env:0", 2),
        ("env:0", 3),
        ("sub:7:0", 2),
        ("sub:7:0", 3),
        ("sub:8:0", 3),
    ]
    assert set(plan["status"]) == {"pending"} and set(plan["attempts"]) == {0}


def test_plan_marks_digest_rows_except_critical_ones():
    plan = plan_deliveries(_alerts(), [Channel("sub:1:0", "json://d", digest_minutes=30)])
    assert dict(zip(plan["alert_id"], plan["digest"], strict=True)) == {1: True, 2: True, 3: False}


def test_no_channels_plan_nothing():
    assert plan_deliveries(_alerts(), []).empty
