"""Price rules of a wheel trader, evaluated over whole frames of quotes and open shorts.

Level rules (each a value where larger means more alarming, a trigger and a re-arm level):

- ``price_move``: ``|last / prev_close - 1|`` per direction, trigger ``price_move_pct``;
- ``price_move`` intraday: ``|last / first quote of the session - 1|``, ``intraday_move_pct``;
- ``strike_near``: a short option's strike within ``strike_proximity_pct`` of the price
  (cushion = (last - strike) / last for puts, (strike - last) / last for calls; value = -cushion);
- ``strike_breached``: the cushion below zero (in the money).

A rule fires when its value reaches the trigger while the rule is inactive; it stays active until
the value falls below ``trigger - hysteresis_pct``. States live in ``alert_rule_states``, so a
price bouncing around a threshold gives one alert per episode. The dedup key holds the episode's
start, so the next episode alerts again.

``expiry_soon`` is an event rule: each short option expiring within ``expiry_warning_days``
alerts once, saying whether it is in the money (assignment likely) or out (expires worthless).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from models.alerting import AlertRuleState
from wheelflow.alerts.rules import make_alert
from wheelflow.db import upsert_frame
from wheelflow.strategy.config import AlertsConfig

LEVEL_COLUMNS = ["key", "symbol", "kind", "severity", "value", "trigger", "title", "message"]


def move_levels(
    quotes: pd.DataFrame, config: AlertsConfig, session_open: pd.Series | None = None
) -> pd.DataFrame:
    """Level rows of price moves: ``quotes`` has symbol, last, prev_close; ``session_open`` maps
    symbol -> the first watched price of the session (intraday moves), when known."""
    frames = []
    q = quotes.dropna(subset=["last"])
    bases: list[tuple[str, pd.Series, float, str]] = [
        ("close", q["prev_close"], config.price_move_pct, "since the prior close")
    ]
    if session_open is not None and len(session_open):
        bases.append(
            ("intraday", q["symbol"].map(session_open), config.intraday_move_pct, "intraday")
        )
    for basis, reference, trigger, words in bases:
        ok = reference.notna() & (reference > 0)
        move = (q["last"][ok] / reference[ok] - 1.0).to_numpy()
        symbols = q["symbol"][ok].to_numpy()
        last = q["last"][ok].to_numpy()
        for side, sign in (("up", 1.0), ("down", -1.0)):
            frames.append(
                pd.DataFrame(
                    {
                        "key": [f"price_move:{basis}:{s}:{side}" for s in symbols],
                        "symbol": symbols,
                        "kind": "price_move",
                        "severity": "warning",
                        "value": sign * move,
                        "trigger": trigger,
                        "title": [
                            f"{s} {'up' if m > 0 else 'down'} {abs(m):.1%} {words}"
                            for s, m in zip(symbols, move, strict=True)
                        ],
                        "message": [
                            f"{s} at {p:.2f}, {m:+.2%} {words}"
                            for s, p, m in zip(symbols, last, move, strict=True)
                        ],
                    }
                )
            )
    return _levels(frames)


def strike_levels(shorts: pd.DataFrame, quotes: pd.DataFrame, config: AlertsConfig) -> pd.DataFrame:
    """Level rows of short strikes near or through the price.

    ``shorts``: open short options (account, symbol, occ_symbol, right, strike, expiration);
    ``quotes``: symbol, last.
    """
    if shorts.empty:
        return _levels([])
    s = shorts.merge(quotes[["symbol", "last"]], on="symbol", how="inner")
    s = s[s["last"] > 0]
    put = (s["right"] == "P").to_numpy()
    last = s["last"].to_numpy(dtype=float)
    strike = s["strike"].to_numpy(dtype=float)
    cushion = np.where(put, (last - strike) / last, (strike - last) / last)
    words = [
        f"{occ} ({acct}): strike {k:g} vs price {p:.2f}, cushion {c:+.1%}"
        for occ, acct, k, p, c in zip(
            s["occ_symbol"], s["account"], strike, last, cushion, strict=True
        )
    ]
    subject = [f"{a}:{o}" for a, o in zip(s["account"], s["occ_symbol"], strict=True)]
    near = pd.DataFrame(
        {
            "key": [f"strike_near:{x}" for x in subject],
            "symbol": s["symbol"].to_numpy(),
            "kind": "strike_near",
            "severity": "warning",
            "value": -cushion,
            "trigger": -config.strike_proximity_pct,
            "title": [f"Short strike near the price: {o}" for o in s["occ_symbol"]],
            "message": words,
        }
    )
    breached = near.assign(
        key=[f"strike_breached:{x}" for x in subject],
        kind="strike_breached",
        severity="critical",
        trigger=0.0,
        title=[f"Short strike breached: {o}" for o in s["occ_symbol"]],
    )
    # A strike exactly at the price is "near", not yet breached: breached needs cushion < 0.
    breached["value"] = np.where(cushion < 0, -cushion, -np.inf)
    return _levels([near, breached])


def _levels(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=LEVEL_COLUMNS)
    return pd.concat(frames, ignore_index=True)[LEVEL_COLUMNS]


def crossings(
    levels: pd.DataFrame, states: pd.DataFrame, hysteresis: float, now: dt.datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows that fire now, the new states) under hysteresis.

    ``states``: key, active, since (the rules' stored states; absent keys are inactive).
    """
    if levels.empty:
        return levels.assign(since=pd.Series(dtype="datetime64[us]")), states.iloc[0:0]
    merged = levels.merge(states[["key", "active", "since"]], on="key", how="left")
    was = merged["active"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    value = merged["value"].to_numpy(dtype=float)
    trigger = merged["trigger"].to_numpy(dtype=float)
    at_trigger = value >= trigger - 1e-12
    still = value > trigger - hysteresis
    active = np.where(was, still, at_trigger)
    fires = active & ~was
    since = pd.to_datetime(merged["since"]).to_numpy(dtype="datetime64[us]")
    since = np.where(fires | pd.isna(since), np.datetime64(now, "us"), since)
    new_states = pd.DataFrame(
        {
            "key": merged["key"],
            "active": active,
            "value": np.where(np.isfinite(value), value, -1e9),
            "since": since,
            "updated_at": now,
        }
    )
    fired = merged[fires].assign(since=since[fires])
    return fired, new_states


def level_alerts(fired: pd.DataFrame, snapshot_at: dt.datetime) -> list[dict[str, Any]]:
    """Alerts of the rows that fired; keyed by rule, subject and episode start."""
    return [
        make_alert(
            f"{row.key}:{pd.Timestamp(row.since):%Y%m%dT%H%M%S}",
            snapshot_at,
            str(row.kind),
            str(row.severity),
            str(row.symbol),
            str(row.title),
            str(row.message),
            {"value": float(row.value), "trigger": float(row.trigger), "rule": str(row.key)},
        )
        for row in fired.itertuples(index=False)
    ]


def evaluate_levels(
    conn: Connection,
    levels: pd.DataFrame,
    config: AlertsConfig,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Load the rules' states, apply hysteresis, store the new states; return the alerts.

    Runs in the caller's transaction, which also stores the alerts (``store_alerts``).
    """
    if levels.empty:
        return []
    keys = list(levels["key"])
    t = AlertRuleState.__table__
    rows = conn.execute(select(t.c.key, t.c.active, t.c.since).where(t.c.key.in_(keys))).all()
    states = pd.DataFrame(rows, columns=["key", "active", "since"])
    fired, new_states = crossings(levels, states, config.hysteresis_pct, now)
    upsert_frame(conn, "alert_rule_states", new_states, conflict_columns=["key"])
    return level_alerts(fired, now)


def expiry_alerts(
    shorts: pd.DataFrame, quotes: pd.DataFrame, today: dt.date, config: AlertsConfig
) -> list[dict[str, Any]]:
    """Shorts expiring within ``expiry_warning_days``: assignment likely (ITM) or not."""
    if shorts.empty:
        return []
    s = shorts.merge(quotes[["symbol", "last"]], on="symbol", how="left")
    expiry = pd.to_datetime(s["expiration"]).dt.date
    days = np.array([(e - today).days for e in expiry])
    due = (days >= 0) & (days <= config.expiry_warning_days)
    out = []
    for row, d in zip(s[due].itertuples(index=False), days[due], strict=True):
        itm = pd.notna(row.last) and (
            row.last < row.strike if row.right == "P" else row.last > row.strike
        )
        when = "today" if d == 0 else "tomorrow" if d == 1 else f"in {d} days"
        outcome = "in the money: assignment likely" if itm else "out of the money"
        out.append(
            make_alert(
                f"expiry:{row.account}:{row.occ_symbol}:{row.expiration}",
                dt.datetime.combine(today, dt.time()),
                "expiry_soon",
                "warning" if itm else "info",
                str(row.symbol),
                f"{row.occ_symbol} expires {when}",
                f"{row.occ_symbol} ({row.account}) expires {row.expiration}, {outcome}"
                + (f" (price {row.last:.2f}, strike {row.strike:g})" if pd.notna(row.last) else ""),
                {"account": row.account, "in_the_money": bool(itm), "days": int(d)},
            )
        )
    return out
